"use strict";
// Console demo: what a console plugin does — suggest on each customer message, and report every agent
// action (pick / edit-then-send / reject / none-fit) as feedback. Keys 1–5 pick a suggestion.
const chat = document.getElementById("chat");
const cards = document.getElementById("cards");
const status = document.getElementById("status");
const noneFit = document.getElementById("none-fit");
const history = [];
let current = null;

function say(role, text) {
  chat.append(el("div", {class: `bubble ${role}`}, text));
  chat.scrollTop = chat.scrollHeight;
  history.push({role, text});
  if (history.length > 20) history.shift();
}

async function feedback(action, suggestion, finalText) {
  const body = {request_id: current.request_id, action};
  if (suggestion) body.script_id = suggestion.script_id;
  if (finalText) body.final_text = finalText;
  try {
    const result = await postJson("/studio/api/feedback", body);
    status.textContent = `已记录反馈：${action}（#${result.feedback_id}）`;
  } catch (error) {
    status.textContent = "反馈未保存：" + error.message;
  }
}

function send(suggestion, text, action) {
  say("agent", text);
  feedback(action, suggestion, action === "edited" ? text : null);
  cards.replaceChildren();
  noneFit.disabled = true;
}

function card(suggestion, index) {
  const editor = el("textarea", {rows: "3", hidden: ""}, suggestion.text);
  const pick = el("button", {type: "button", class: "primary"}, `采用 (${index + 1})`);
  const edit = el("button", {type: "button"}, "改写后发送");
  const reject = el("button", {type: "button"}, "不合适");
  pick.addEventListener("click", () => send(suggestion, suggestion.text, "picked"));
  edit.addEventListener("click", () => {
    if (editor.hidden) { editor.hidden = false; editor.focus(); edit.textContent = "发送改写"; return; }
    send(suggestion, editor.value, editor.value === suggestion.text ? "picked" : "edited");
  });
  reject.addEventListener("click", () => { item.classList.add("rejected"); feedback("rejected", suggestion); });
  const item = el("li", {"data-script-id": suggestion.script_id},
    el("div", {class: "text"}, suggestion.text),
    el("div", {class: "meta"}, `${suggestion.script_id} · ${suggestion.score.toFixed(2)}`),
    editor, el("div", {class: "actions"}, pick, edit, reject));
  return item;
}

document.getElementById("customer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("message");
  const text = input.value.trim();
  if (!text) return;
  const body = {message: text, history: history.slice(-6), platform: document.getElementById("platform").value};
  say("customer", text);
  input.value = "";
  try {
    current = await postJson("/studio/api/suggest", body);
  } catch (error) {
    status.textContent = error.message;
    return;
  }
  const banner = document.getElementById("escalation");
  banner.hidden = !current.escalation.required;
  banner.textContent = current.escalation.required ? escalationText(current.escalation) : "";
  document.getElementById("meta").textContent = `${current.intent.name} · ${EMOTION_NAMES[current.emotion.id]}`;
  cards.replaceChildren(...current.suggestions.slice(0, 5).map(card));
  noneFit.disabled = false;
  status.textContent = "";
});

noneFit.addEventListener("click", () => { feedback("none_fit"); cards.replaceChildren(); noneFit.disabled = true; });

document.addEventListener("keydown", (event) => {
  if (!current || event.target.matches("input, textarea, select") || !/^[1-5]$/.test(event.key)) return;
  const button = cards.querySelectorAll("li .actions .primary")[Number(event.key) - 1];
  if (button) button.click();
});
