"use strict";
// Editor of a script or an FAQ entry: live lint + preview while typing, variable chips, Ctrl+S, a warning before
// leaving with unsaved work, a draft kept in this browser until it is saved, a conflict view when someone else
// saved meanwhile, and the workflow buttons (submit, approve, reject, retire, undo a retirement, restore).
const form = document.getElementById("editor");
const entryId = form.dataset.entryId;
const isScript = form.dataset.kind === "script";
const api = (action) => `/studio/api/scripts/${encodeURIComponent(entryId)}${action ? "/" + action : ""}`;
const message = document.getElementById("message");
const draftKey = `huashu-draft:${entryId}`;
const $ = (id) => document.getElementById(id);

function checked(name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

function lines(id) {
  return $(id).value.split("\n").map((s) => s.trim()).filter(Boolean);
}

function variables() {
  return [...document.querySelectorAll("#variables tbody tr")].map((row) => ({
    name: row.querySelector(".v-name").value.trim(),
    label: row.querySelector(".v-label").value.trim(),
    default: row.querySelector(".v-default").value || null,
    sample: row.querySelector(".v-sample").value || null,
  })).filter((v) => v.name);
}

function draft() {
  const common = {platforms: checked("platforms"), base_updated_at: form.dataset.updatedAt || null};
  if (!isScript) {
    const tags = $("tags").value.split(/[\s,，、]+/).filter(Boolean);
    return {answer: $("answer").value, questions: lines("questions"), tags, ...common};
  }
  return {template: $("template").value, variables: variables(), examples: lines("examples"),
    emotions: checked("emotions"), ...common};
}

// What counts as a change: the content, not the base it was loaded from.
function content(d) {
  const {base_updated_at: _, ...rest} = d;
  if (rest.variables) rest.variables = rest.variables.map(({sample: __, ...v}) => v);
  return JSON.stringify(rest);
}

function setChecks(name, values) {
  for (const box of form.querySelectorAll(`input[name="${name}"]`)) box.checked = values.includes(box.value);
}

function variableRow(v) {
  const input = (cls, value, label) => el("td", {}, el("input", {class: cls, value: value || "", "aria-label": label}));
  return el("tr", {}, input("v-name", v.name, "变量名"), input("v-label", v.label, "说明"),
    input("v-default", v.default, "默认值"), input("v-sample", v.sample, "预览示例值"),
    el("td", {}, el("button", {type: "button", class: "link remove-var"}, "删除")));
}

function setDraft(d) {
  if (isScript) {
    $("template").value = d.template;
    document.querySelector("#variables tbody").replaceChildren(...d.variables.map(variableRow));
    $("examples").value = d.examples.join("\n");
    setChecks("emotions", d.emotions);
  } else {
    $("answer").value = d.answer;
    $("questions").value = d.questions.join("\n");
    $("tags").value = d.tags.join(" ");
  }
  setChecks("platforms", d.platforms);
  changed();
}

// -- live lint and preview ------------------------------------------------------------------------------------------
function highlighted(text, problems) {
  const spans = problems.filter((p) => p.end > p.start).sort((a, b) => a.start - b.start);
  const box = $("lint-text");
  box.replaceChildren();
  let at = 0;
  for (const p of spans) {
    if (p.start < at) continue;
    box.append(text.slice(at, p.start));
    box.append(el("mark", {class: p.severity, title: p.hint ? `${p.message} — 建议：${p.hint}` : p.message},
      text.slice(p.start, p.end)));
    at = p.end;
  }
  box.append(text.slice(at));
}

function showProblems(problems) {
  $("problems").replaceChildren(...problems.map((p) => el("li", {class: p.severity, "data-code": p.code},
    el("strong", {}, p.severity === "error" ? "错误：" : "提醒："), p.message,
    p.hint ? el("div", {class: "hint"}, "建议：" + p.hint) : "")));
}

async function runCheck() {
  const state = $("lint-state");
  state.textContent = "检查中…";
  try {
    const result = await postJson(api("check"), draft());
    highlighted(result.lint_text, result.problems);
    showProblems(result.problems);
    $("preview").textContent = result.preview ? result.preview.text : "（无法渲染）";
    const missing = result.preview ? result.preview.missing_variables : [];
    $("missing").textContent = missing.length ? "坐席需填写：" + missing.join("、") : "";
    const errors = result.problems.filter((p) => p.severity === "error").length;
    const warnings = result.problems.length - errors;
    state.textContent = errors ? `${errors} 个错误，不能提交或审核` : (warnings ? `通过（${warnings} 个提醒）` : "通过");
    state.className = errors ? "bad" : "good";
    $("lint-summary").textContent = "检查：" + state.textContent;
    $("lint-summary").className = "lint-summary " + state.className;
    for (const [id, allowed] of Object.entries(allowedByState)) $(id).disabled = !allowed || errors > 0;
  } catch (error) {
    state.textContent = error.message;
    state.className = "bad";
  }
}
const scheduleCheck = debounce(runCheck, 300);

// -- variable chips: click to insert {{ name }} at the cursor -------------------------------------------------------
function insertVariable(name) {
  const area = $("template");
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? start;
  const token = `{{ ${name} }}`;
  area.value = area.value.slice(0, start) + token + area.value.slice(end);
  area.focus();
  area.selectionStart = area.selectionEnd = start + token.length;
  changed();
}

function renderChips() {
  if (!isScript) return;
  const names = variables().map((v) => v.name);
  $("var-chips").replaceChildren(
    ...(names.length ? [el("span", {class: "hint"}, "插入变量：")] : []),
    ...names.map((name) => {
      const chip = el("button", {type: "button", class: "chip var", title: `插入 {{ ${name} }}`}, name);
      chip.addEventListener("click", () => insertVariable(name));
      return chip;
    }));
}

// -- unsaved work: warning, autosave in this browser, restore ------------------------------------------------------
let saved = content(draft());
// What the entry's state allows (the page says); lint errors disable these on top.
const allowedByState = Object.fromEntries(["submit", "approve"].filter($).map((id) => [id, !$(id).disabled]));
const dirty = () => content(draft()) !== saved;

const autosave = debounce(() => {
  if (dirty()) {
    localStorage.setItem(draftKey, JSON.stringify({base: form.dataset.updatedAt, at: new Date().toISOString(), draft: draft()}));
  } else {
    localStorage.removeItem(draftKey);
  }
}, 500);

function changed() {
  renderChips();
  scheduleCheck();
  autosave();
}

function offerAutosaved() {
  const stored = JSON.parse(localStorage.getItem(draftKey) || "null");
  if (!stored || content(stored.draft) === saved) { localStorage.removeItem(draftKey); return; }
  $("autosave-time").textContent = localTime(stored.at);
  $("autosave").hidden = false;
  $("autosave-restore").addEventListener("click", () => {
    setDraft({...stored.draft});
    form.dataset.updatedAt = stored.base || form.dataset.updatedAt;  // a save then shows a conflict if needed
    $("autosave").hidden = true;
  });
  $("autosave-drop").addEventListener("click", () => { localStorage.removeItem(draftKey); $("autosave").hidden = true; });
}

window.addEventListener("beforeunload", (event) => {
  if (dirty()) { event.preventDefault(); event.returnValue = ""; }
});

// -- conflict: both versions side by side ---------------------------------------------------------------------------
function readable(d) {
  if (!isScript) return `答案：${d.answer}\n顾客问法：\n${d.questions.join("\n")}\n标签：${d.tags.join(" ")}`;
  const vars = d.variables.map((v) => `${v.name}（${v.label}${v.default ? "，默认 " + v.default : ""}）`).join("、");
  const names = (ids, table) => ids.map((id) => CATALOGUE[table][id] || id).join("、");
  return `正文：${d.template}\n变量：${vars || "无"}\n情绪：${names(d.emotions, "emotion")}\n` +
    `平台：${names(d.platforms, "platform")}\n顾客问法：\n${d.examples.join("\n")}`;
}

async function showConflict() {
  const theirs = await getJson(api(""));
  const mine = draft();
  $("conflict-mine").textContent = readable(mine);
  $("conflict-theirs").textContent = readable(theirs.draft);
  $("conflict-who").textContent = `${theirs.author} · ${theirs.updated_at ? localTime(theirs.updated_at) : ""}`;
  $("conflict").hidden = false;
  $("conflict").scrollIntoView({block: "start"});
  $("conflict-keep").onclick = () => {
    form.dataset.updatedAt = theirs.updated_at || "";
    $("conflict").hidden = true;
    save();
  };
  $("conflict-take").onclick = () => {
    form.dataset.updatedAt = theirs.updated_at || "";
    setDraft(theirs.draft);
    saved = content(draft());
    localStorage.removeItem(draftKey);
    $("conflict").hidden = true;
  };
}

// -- saving and the workflow ----------------------------------------------------------------------------------------
const buttons = () => [...form.querySelectorAll(".actions button")];

function report(text, good) {
  message.textContent = text;
  message.className = good ? "good" : "bad";
}

async function act(action, body, {reload = true} = {}) {
  report("处理中…", true);
  const disabled = buttons().map((b) => [b, b.disabled]);
  disabled.forEach(([b]) => { b.disabled = true; });
  try {
    const result = await postJson(api(action), body);
    const published = result.publish_seconds ? `（已上线，用时 ${result.publish_seconds} 秒）` : "";
    report(result.message + published, true);
    if (reload && result.audit_id !== null) {
      saved = content(draft());
      localStorage.removeItem(draftKey);
      setTimeout(() => window.location.reload(), action === "save" ? 600 : 1200);
    } else {
      disabled.forEach(([b, was]) => { b.disabled = was; });
    }
    return result;
  } catch (error) {
    report(error.message, false);
    disabled.forEach(([b, was]) => { b.disabled = was; });
    if (error.code === "stale_edit") await showConflict();
    return null;
  }
}

function save() {
  return act("save", draft());
}

const comment = () => ({comment: $("comment").value});
form.addEventListener("input", (event) => { if (!event.target.closest(".actions")) changed(); });
form.addEventListener("click", (event) => {
  if (event.target.classList.contains("remove-var")) { event.target.closest("tr").remove(); changed(); }
});
if (isScript) $("add-var").addEventListener("click", () => { document.querySelector("#variables tbody").append(variableRow({})); });
$("save").addEventListener("click", save);
$("submit").addEventListener("click", () => {
  if (dirty()) { report("有未保存的修改，请先保存草稿再提交。", false); return; }
  act("submit", comment());
});
if ($("approve")) $("approve").addEventListener("click", () => act("approve", comment()));
if ($("reject")) $("reject").addEventListener("click", () => {
  if (!$("comment").value.trim()) { report("驳回时请写明意见，作者需要知道改什么。", false); $("comment").focus(); return; }
  act("reject", comment());
});
if ($("retire")) $("retire").addEventListener("click", async () => {
  const reason = await confirmRetire([entryId]);
  if (reason) act("retire", {comment: reason});
});
if ($("unretire")) $("unretire").addEventListener("click", () => act("unretire", comment()));
for (const button of document.querySelectorAll("button.restore")) {
  button.addEventListener("click", () => act("restore", {audit_id: Number(button.dataset.auditId)}));
}
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") { event.preventDefault(); if (!$("save").disabled) save(); }
});
renderChips();
offerAutosaved();
runCheck();
