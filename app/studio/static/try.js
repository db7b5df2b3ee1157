"use strict";
// Try-it: the same request the console sends, and the response as the API returns it (scores included).
function parseHistory(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const agent = /^(客服|坐席|agent)[:：]/i.test(line);
    return {role: agent ? "agent" : "customer", text: line.replace(/^[^:：]{1,6}[:：]\s*/, "")};
  });
}

document.getElementById("try").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    message: document.getElementById("message").value,
    history: parseHistory(document.getElementById("history").value),
  };
  const platform = document.getElementById("platform").value;
  if (platform) body.platform = platform;
  const result = document.getElementById("result");
  const summary = document.getElementById("summary");
  summary.textContent = "识别中…";
  try {
    const data = await postJson("/studio/api/suggest", body);
    result.hidden = false;
    const requests = data.intents.length > 1 ? ` · 本句 ${data.intents.length} 个问题：${data.intents.map((i) => i.name).join("、")}` : "";
    summary.textContent =
      `意图：${data.intent.name}（置信度 ${data.intent.confidence.toFixed(2)}）${requests} · ` +
      `情绪：${CATALOGUE.emotion[data.emotion.id]}（置信度 ${data.emotion.confidence.toFixed(2)}，强度 ${data.emotion.intensity.toFixed(2)}）` +
      `${data.handoff_requested ? " · 顾客要求转人工" : ""} · ${data.took_ms} 毫秒`;
    const banner = document.getElementById("escalation");
    banner.hidden = !data.escalation.required;
    banner.textContent = data.escalation.required ? escalationText(data.escalation) : "";
    document.getElementById("suggestions").replaceChildren(...data.suggestions.map((s) => el("li", {},
      el("div", {class: "text"}, s.text),
      el("div", {class: "meta"}, `${s.script_id} v${s.version} · 得分 ${s.score.toFixed(3)} · 情绪匹配 ${s.emotion_fit.toFixed(2)}`),
      el("ul", {class: "reasons"}, ...s.reasons.map((r) => el("li", {}, r))))));
    document.getElementById("raw").textContent = JSON.stringify(data, null, 2);
  } catch (error) {
    result.hidden = false;
    summary.textContent = error.message;
  }
});
