"use strict";
// The agent's console, what a console plugin does: suggest on each customer message, let the agent fill the
// order's details into the reply, pick / edit / reject / none-fit (every action is feedback), copy the reply to
// the clipboard, correct the assistant's intent, emotion or escalation, and keep an escalation in sight until handled.
// Keyboard-first: after a message the first card has focus; 1–5 pick, E edit, R reject, N none fit, ↑↓ move,
// Esc back to the message box.
const DATA = JSON.parse(document.getElementById("console-data").textContent);
const $ = (id) => document.getElementById(id);
const input = $("message");
const panel = $("panel");
const groupsBox = $("groups");
const stateLine = $("state");
const statusLine = $("status");
const noneFit = $("none-fit");
const ORDER_KEY = "huashu-order";
const MAX_CARDS = 5;
const history = [];
let current = null;       // the suggest response the cards belong to
let corrected = {};       // this request's corrections: {intent, emotion, escalation (a team or DATA.no_team)}
let bannerFor = null;     // the request whose escalation the banner shows
let lastBody = null;      // for "retry"
let asked = 0;            // only the latest message's answer is shown

// -- the chat and the order details (remembered for this chat in the browser's session) -----------------------------
function say(role, text) {
  $("chat").append(el("div", {class: `bubble ${role}`}, text));
  $("chat").scrollTop = $("chat").scrollHeight;
  history.push({role, text});
  if (history.length > 20) history.shift();
}

const orderInputs = () => [...document.querySelectorAll("#order input[data-var]")];

function orderValues() {
  const values = {};
  for (const box of orderInputs()) {
    const value = box.value.trim();
    if (!value) continue;
    values[box.dataset.var] = /^\d+(\.\d+)?$/.test(value) && box.dataset.var.endsWith("amount") ? Number(value) : value;
  }
  return values;
}

function remember() {
  sessionStorage.setItem(ORDER_KEY, JSON.stringify(Object.fromEntries(orderInputs().map((b) => [b.dataset.var, b.value]))));
}

function setOrderValue(name, value) {
  const box = orderInputs().find((b) => b.dataset.var === name);
  if (box && box.value !== value) { box.value = value; remember(); }
}

function restoreOrder() {
  const stored = JSON.parse(sessionStorage.getItem(ORDER_KEY) || "{}");
  for (const box of orderInputs()) box.value = stored[box.dataset.var] || "";
}

// -- cards ----------------------------------------------------------------------------------------------------------
const cards = () => [...groupsBox.querySelectorAll("li.suggestion:not(.rejected)")];

// The reply as text and slots: every 【label】 of a missing variable becomes an input the agent fills in place.
function pieces(suggestion) {
  let parts = [suggestion.text];
  for (const name of suggestion.missing_variables) {
    const marker = `【${DATA.labels[name] || name}】`;
    parts = parts.flatMap((part) => typeof part !== "string" ? [part]
      : part.split(marker).flatMap((text, i) => (i ? [{name}, text] : [text])));
  }
  return parts.filter((part) => part !== "");
}

function slot(name) {
  const label = DATA.labels[name] || name;
  const box = el("input", {class: "slot missing", "data-var": name, placeholder: label, "aria-label": `填写${label}`,
    size: Math.max(4, label.length * 2)});
  box.value = orderValues()[name] ?? "";
  box.classList.toggle("missing", !box.value.trim());
  box.addEventListener("input", () => {
    box.classList.toggle("missing", !box.value.trim());
    setOrderValue(name, box.value);
    for (const other of groupsBox.querySelectorAll(`input.slot[data-var="${name}"]`)) {
      if (other !== box) { other.value = box.value; other.classList.toggle("missing", !box.value.trim()); }
    }
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); pick(box.closest("li")); }
  });
  return box;
}

function finalText(item) {
  return [...item.querySelector(".text").childNodes].map((n) => (n.nodeType === 3 ? n.textContent : n.value)).join("");
}

function emptySlots(item) {
  return [...item.querySelectorAll("input.slot")].filter((box) => !box.value.trim());
}

// Why this reply: the topic, the mood it suits, the platform — in words, without ids or scores.
function reason(suggestion) {
  const said = [(suggestion.kind === "faq" ? "常见问题 · " : "") + (DATA.intents[suggestion.intent] || "相关话题")];
  if (suggestion.emotion_fit === 1 && current.emotion.id !== "neutral") said.push(`适合${CATALOGUE.emotion[current.emotion.id]}的顾客`);
  said.push(...suggestion.reasons.filter((r) => !/\d/.test(r) && !r.startsWith("适合")));
  return said.join(" · ");
}

function card(suggestion, number) {
  const text = el("div", {class: "text"}, ...pieces(suggestion).map((p) => (typeof p === "string" ? p : slot(p.name))));
  const editor = el("textarea", {rows: "3", hidden: true, "aria-label": "改写后发送的内容"});
  const pickButton = el("button", {type: "button", class: "primary pick"}, `采用（${number}）`);
  const editButton = el("button", {type: "button", class: "edit"}, "改写（E）");
  const copyButton = el("button", {type: "button", class: "copy"}, "复制");
  const rejectButton = el("button", {type: "button", class: "reject"}, "不合适（R）");
  const item = el("li", {class: "suggestion", tabindex: "0", "data-script-id": suggestion.script_id},
    el("span", {class: "num"}, String(number)), text, el("div", {class: "why"}, reason(suggestion)),
    editor, el("div", {class: "actions"}, pickButton, editButton, copyButton, rejectButton));
  item.suggestion = suggestion;
  pickButton.addEventListener("click", () => pick(item));
  editButton.addEventListener("click", () => edit(item));
  copyButton.addEventListener("click", () => copy(finalText(item)).then((ok) => note(ok ? "已复制到剪贴板" : "复制失败，请手动选中复制", ok)));
  rejectButton.addEventListener("click", () => reject(item));
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); edit(item); }
  });
  return item;
}

function chosenGroups(response) {
  const groups = response.groups.length ? response.groups : [{intent: response.intent, suggestions: response.suggestions}];
  if (groups.length === 1) return [{intent: groups[0].intent, suggestions: groups[0].suggestions.slice(0, MAX_CARDS)}];
  const rest = groups.slice(1).map((g) => ({intent: g.intent, suggestions: g.suggestions.slice(0, 2)}));
  const others = rest.reduce((n, g) => n + g.suggestions.length, 0);
  const first = {intent: groups[0].intent, suggestions: groups[0].suggestions.slice(0, Math.max(3, MAX_CARDS - others))};
  return [first, ...rest];
}

function renderCards(response) {
  let number = 0;
  const groups = chosenGroups(response);
  groupsBox.replaceChildren(...groups.map((group, i) => el("section", {class: "group"},
    groups.length > 1 ? el("h3", {}, `问题 ${i + 1}：${group.intent.name}`) : "",
    group.suggestions.length
      ? el("ol", {class: "suggestions"}, ...group.suggestions.slice(0, MAX_CARDS - number).map((s) => card(s, ++number)))
      : el("p", {class: "hint"}, "没有合适的话术。"))));
  noneFit.disabled = false;
}

function clearCards() {
  groupsBox.replaceChildren();
  noneFit.disabled = true;
}

// -- reading: intent, emotion and escalation chips, one click corrects -----------------------------------------------
function chip(label, pressed, onClick, extra) {
  const button = el("button", {type: "button", class: `chip ${extra || ""}`, "aria-pressed": pressed ? "true" : "false"}, label);
  if (!pressed) button.addEventListener("click", onClick);
  return button;
}

function renderReading() {
  const intentId = corrected.intent || current.intent.id;
  const emotionId = corrected.emotion || current.emotion.id;
  const candidates = [current.intent.id, ...current.intents.map((i) => i.id), ...current.intent.alternatives.map((a) => a.id)];
  const shown = [...new Set([intentId, ...candidates])].filter((id) => DATA.intents[id]).slice(0, 4);
  const more = el("select", {"aria-label": "选择其他意图", class: "more"},
    el("option", {value: ""}, "其他意图…"),
    ...Object.entries(DATA.intents).filter(([id]) => !shown.includes(id)).map(([id, name]) => el("option", {value: id}, name)));
  more.addEventListener("change", () => { if (more.value) correct({intent: more.value}); });
  $("intent-chips").replaceChildren(
    ...shown.map((id) => chip(DATA.intents[id] + (id === corrected.intent ? "（已纠正）" : ""), id === intentId,
      () => correct({intent: id}), id === intentId ? "on" : "")), more);
  $("emotion-chips").replaceChildren(...DATA.emotions.map((id) => chip(
    CATALOGUE.emotion[id] + (id === corrected.emotion ? "（已纠正）" : ""), id === emotionId,
    () => correct({emotion: id}), `e-${id} ${id === emotionId ? "on" : ""}`)));
  const teamId = corrected.escalation || predictedTeam();
  $("escalation-chips").replaceChildren(...[DATA.no_team, ...DATA.teams].map((id) => chip(
    (id === DATA.no_team ? "不升级" : id) + (id === corrected.escalation ? "（已纠正）" : ""), id === teamId,
    () => correct({escalation: id}), id === teamId ? "on" : "")));
  $("handoff").hidden = !current.handoff_requested;
  $("reading").hidden = false;
}

const predictedTeam = () => (current.escalation.required ? current.escalation.team : DATA.no_team);

async function correct(change) {
  if (!current) return;
  const next = {...corrected, ...change};
  if (next.intent === current.intent.id) delete next.intent;
  if (next.emotion === current.emotion.id) delete next.emotion;
  if (next.escalation === predictedTeam()) delete next.escalation;
  if (!next.intent && !next.emotion && !next.escalation) return;
  const body = {request_id: current.request_id, intent: next.intent, emotion: next.emotion};
  if (next.escalation) body.escalation = {team: next.escalation === DATA.no_team ? null : next.escalation};
  try {
    await postJson("/studio/api/corrections", body);
    corrected = next;
    if (next.escalation === DATA.no_team && bannerFor === current.request_id) $("escalation").hidden = true;
    renderReading();
    note("已记录您的纠正，培训组审核后助手会学会。", true);
  } catch (error) {
    note("纠正未保存：" + error.message, false);
  }
}

// -- actions --------------------------------------------------------------------------------------------------------
let latest = 0;  // bumped by every action and every message: answers arrive out of order, the newest word stays

function note(text, good) {
  latest += 1;
  statusLine.textContent = text;
  statusLine.className = good ? "good" : "bad";
}

async function confirmed(stored, text) {
  const mine = ++latest;
  if ((await stored) && mine === latest) note(text, true);  // a late "rejected" never covers a newer "picked"
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    return false;
  }
}

async function feedback(action, suggestion, finalTextValue) {
  const body = {request_id: current.request_id, action};
  if (suggestion) body.script_id = suggestion.script_id;
  if (finalTextValue) body.final_text = finalTextValue;
  try {
    await postJson("/studio/api/feedback", body);
    return true;
  } catch (error) {
    note(`反馈未保存：${error.message}`, false);
    return false;
  }
}

async function send(item, text, action) {
  const copied = await copy(text);
  say("agent", text);
  clearCards();
  input.focus();
  const done = `已${CATALOGUE.action[action]}${copied ? "，已复制到剪贴板" : "（复制失败，请手动复制）"}`;
  await confirmed(feedback(action, item.suggestion, action === "edited" ? text : null), done);
}

function pick(item) {
  if (!item || !current) return;
  const empty = emptySlots(item);
  if (empty.length) {
    note("请先填写：" + empty.map((b) => b.placeholder).join("、"), false);
    empty[0].focus();
    return;
  }
  send(item, finalText(item), "picked");
}

function edit(item) {
  if (!item || !current) return;
  const editor = item.querySelector("textarea");
  if (editor.hidden) {
    editor.value = finalText(item);
    editor.hidden = false;
    item.querySelector("button.edit").textContent = "发送改写（Ctrl+Enter）";
    editor.focus();
    return;
  }
  const text = editor.value.trim();
  if (!text) { note("改写内容不能为空。", false); editor.focus(); return; }
  send(item, text, text === finalText(item) ? "picked" : "edited");
}

function reject(item) {
  if (!item || !current) return;
  const following = cards()[cards().indexOf(item) + 1];
  item.classList.add("rejected");
  confirmed(feedback("rejected", item.suggestion), "已标记为不合适");
  (following || cards()[0] || input).focus();
}

function none() {
  if (!current || noneFit.disabled) return;
  confirmed(feedback("none_fit"), "已记录：都不合适，培训组会补充话术");
  clearCards();
  input.focus();
}

// -- a customer message: pending, then cards (or the error, in place) -----------------------------------------------
function showEscalation(response) {
  if (!response.escalation.required) return;  // a banner stays until the agent marks it handled
  $("escalation-text").textContent = escalationText(response.escalation);
  $("escalation").hidden = false;
  bannerFor = response.request_id;
}

async function ask(body) {
  const mine = ++asked;
  lastBody = body;
  panel.classList.add("busy");
  panel.setAttribute("aria-busy", "true");
  stateLine.className = "state pending";
  stateLine.replaceChildren("正在识别顾客消息，推荐话术…");
  current = null;
  noneFit.disabled = true;
  try {
    const response = await postJson("/studio/api/suggest", body);
    if (mine !== asked) return;  // a newer message is being read
    current = response;
    corrected = {};
    showEscalation(response);
    renderReading();
    renderCards(response);
    const count = cards().length;
    stateLine.className = "state";
    stateLine.textContent = count ? `${count} 条推荐` : "没有找到合适的话术，可以标记“都不合适”。";
    (cards()[0] || input).focus();
  } catch (error) {
    if (mine !== asked) return;
    clearCards();
    $("reading").hidden = true;
    const retry = el("button", {type: "button", id: "retry"}, "重试");
    retry.addEventListener("click", () => ask(lastBody));
    stateLine.className = "state bad";
    stateLine.replaceChildren(`没有拿到推荐：${error.message} `, retry);
  } finally {
    if (mine === asked) {
      panel.classList.remove("busy");
      panel.setAttribute("aria-busy", "false");
    }
  }
}

$("customer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  const body = {message: text, history: history.slice(-6), platform: $("platform").value, context: orderValues()};
  say("customer", text);
  input.value = "";
  statusLine.textContent = "";
  ask(body);
});

noneFit.addEventListener("click", none);
$("escalation-done").addEventListener("click", () => { $("escalation").hidden = true; input.focus(); });
for (const box of orderInputs()) box.addEventListener("input", remember);
$("new-chat").addEventListener("click", () => {
  sessionStorage.removeItem(ORDER_KEY);
  restoreOrder();
  history.length = 0;
  $("chat").replaceChildren();
  clearCards();
  current = null;
  $("reading").hidden = true;
  stateLine.textContent = "新会话已开始。";
  input.focus();
});

// -- keyboard -------------------------------------------------------------------------------------------------------
function focusedCard() {
  return document.activeElement && document.activeElement.closest ? document.activeElement.closest("li.suggestion") : null;
}

function move(step) {
  const list = cards();
  if (!list.length) return;
  const at = list.indexOf(focusedCard());
  list[(at + step + list.length) % list.length].focus();
}

document.addEventListener("keydown", (event) => {
  const typing = event.target.matches("input, textarea, select");
  if (event.key === "Escape") {
    const item = focusedCard();
    if (typing && item) { item.focus(); } else { input.focus(); }
    event.preventDefault();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey || !current) return;
  const key = event.key.toLowerCase();
  const actions = {
    e: () => edit(focusedCard() || cards()[0]),
    r: () => reject(focusedCard() || cards()[0]),
    n: none,
    arrowdown: () => move(1),
    arrowup: () => move(-1),
  };
  if (/^[1-5]$/.test(key)) {
    const item = groupsBox.querySelectorAll("li.suggestion")[Number(key) - 1];
    if (item && !item.classList.contains("rejected")) pick(item);
  } else if (actions[key]) {
    actions[key]();
  } else {
    return;
  }
  event.preventDefault();
});

restoreOrder();
