"use strict";
// Editor: live lint + preview while typing (debounced), and the workflow buttons.
const form = document.getElementById("editor");
const scriptId = form.dataset.scriptId;
const api = (action) => `/studio/api/scripts/${encodeURIComponent(scriptId)}/${action}`;
const message = document.getElementById("message");

function checked(name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

function draft() {
  const variables = [...document.querySelectorAll("#variables tbody tr")].map((row) => ({
    name: row.querySelector(".v-name").value.trim(),
    label: row.querySelector(".v-label").value.trim(),
    default: row.querySelector(".v-default").value || null,
    sample: row.querySelector(".v-sample").value || null,
  })).filter((v) => v.name);
  return {
    template: document.getElementById("template").value,
    variables,
    examples: document.getElementById("examples").value.split("\n").map((s) => s.trim()).filter(Boolean),
    emotions: checked("emotions"),
    platforms: checked("platforms"),
    base_updated_at: form.dataset.updatedAt || null,
  };
}

function highlighted(text, problems) {
  const spans = problems.filter((p) => p.end > p.start).sort((a, b) => a.start - b.start);
  const box = document.getElementById("lint-text");
  box.replaceChildren();
  let at = 0;
  for (const p of spans) {
    if (p.start < at) continue;
    box.append(text.slice(at, p.start));
    box.append(el("mark", {class: p.severity, title: `${p.message} — 建议：${p.hint}`}, text.slice(p.start, p.end)));
    at = p.end;
  }
  box.append(text.slice(at));
}

let canSubmit = false;
async function runCheck() {
  const state = document.getElementById("lint-state");
  state.textContent = "检查中…";
  try {
    const result = await postJson(api("check"), draft());
    highlighted(result.lint_text, result.problems);
    const list = document.getElementById("problems");
    list.replaceChildren(...result.problems.map((p) => el("li", {class: p.severity},
      el("strong", {}, p.severity === "error" ? "错误 " : "提醒 "), `[${p.code}] ${p.message}`,
      p.hint ? el("div", {class: "hint"}, "建议：" + p.hint) : "")));
    document.getElementById("preview").textContent = result.preview ? result.preview.text : "（无法渲染）";
    const missing = result.preview ? result.preview.missing_variables : [];
    document.getElementById("missing").textContent = missing.length ? "缺少示例值：" + missing.join("、") : "";
    canSubmit = result.can_submit;
    const errors = result.problems.filter((p) => p.severity === "error").length;
    state.textContent = errors ? `${errors} 个错误，不能提交或审核` : "通过";
    state.className = errors ? "bad" : "good";
    for (const id of ["submit", "approve"]) {
      const button = document.getElementById(id);
      if (button && errors) button.disabled = true;
    }
  } catch (error) {
    state.textContent = error.message;
  }
}
const scheduleCheck = debounce(runCheck, 300);

function addVariableRow() {
  const input = (cls) => el("td", {}, el("input", {class: cls}));
  const remove = el("button", {type: "button", class: "link remove-var"}, "删除");
  const row = el("tr", {}, input("v-name"), input("v-label"), input("v-default"), input("v-sample"), el("td", {}, remove));
  document.querySelector("#variables tbody").append(row);
}

async function act(action, body) {
  message.textContent = "处理中…";
  message.className = "";
  try {
    const result = await postJson(api(action), body);
    const seconds = result.publish_seconds ? `，已上线（索引 ${result.index_version}，用时 ${result.publish_seconds} 秒）` : "";
    message.textContent = `${result.from_status} → ${result.to_status}，v${result.version}${seconds}`;
    message.className = "good";
    setTimeout(() => window.location.reload(), action === "approve" ? 1500 : 600);
  } catch (error) {
    message.textContent = error.message;
    message.className = "bad";
  }
}

form.addEventListener("input", scheduleCheck);
form.addEventListener("click", (event) => {
  if (event.target.classList.contains("remove-var")) { event.target.closest("tr").remove(); scheduleCheck(); }
});
document.getElementById("add-var").addEventListener("click", addVariableRow);
document.getElementById("save").addEventListener("click", () => act("save", draft()));
const comment = () => ({comment: document.getElementById("comment").value});
document.getElementById("submit").addEventListener("click", () => act("submit", comment()));
for (const action of ["approve", "reject", "retire"]) {
  const button = document.getElementById(action);
  if (button) button.addEventListener("click", () => act(action, comment()));
}
runCheck();
