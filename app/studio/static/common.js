"use strict";
// Shared helpers: JSON calls carrying the session's CSRF token (errors in Chinese, from the server's catalogue),
// safe DOM building (no innerHTML), times in the browser's own zone, and the retire confirmation dialog.
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const CATALOGUE = JSON.parse(document.getElementById("catalogue").textContent);

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => (values[name] ?? ""));
}

// A failed call: the server's Chinese message when it sent one, else ours; `code` stays the English code.
async function callError(response) {
  const data = await response.json().catch(() => ({}));
  const code = (data.error && data.error.code) || "";
  const own = CATALOGUE.errors[code];
  const message = (code === "payload_too_large" && own) || (data.error && data.error.message) || own
    || fill(CATALOGUE.errors.http, {status: response.status});
  const error = new Error(message);
  error.status = response.status;
  error.code = code;
  return error;
}

async function call(method, url, body) {
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {"content-type": "application/json", "x-csrf-token": CSRF},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (_) {
    const error = new Error(CATALOGUE.errors.network);
    error.code = "network";
    throw error;
  }
  if (!response.ok) throw await callError(response);
  return response.json();
}

const postJson = (url, body) => call("POST", url, body);
const getJson = (url) => call("GET", url);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") node.className = value; else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function escalationText(escalation) {
  const within = escalation.respond_within_minutes ? `，${escalation.respond_within_minutes} 分钟内响应` : "";
  return `需升级：${escalation.team || ""}${within}（${escalation.reason || ""}）`;
}

// Times: the server writes <time datetime="ISO">; show them in the browser's zone and say which zone that is.
function zoneLabel() {
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "-";
  const hours = Math.floor(Math.abs(minutes) / 60);
  const rest = Math.abs(minutes) % 60;
  return `（本机时区 UTC${sign}${hours}${rest ? ":" + String(rest).padStart(2, "0") : ""}）`;
}

function localTime(iso) {
  const moment = new Date(iso);
  const two = (n) => String(n).padStart(2, "0");
  return `${moment.getFullYear()}-${two(moment.getMonth() + 1)}-${two(moment.getDate())} ` +
    `${two(moment.getHours())}:${two(moment.getMinutes())}`;
}

function localiseTimes(root) {
  for (const node of (root || document).querySelectorAll("time[datetime]")) {
    node.textContent = localTime(node.getAttribute("datetime"));
    node.title = node.getAttribute("datetime");
  }
  for (const label of document.querySelectorAll(".tz-label")) label.textContent = zoneLabel();
}
localiseTimes();

// Retire: say what stops being suggested, ask for the reason, resolve with it (or null when cancelled).
function confirmRetire(ids) {
  const dialog = document.getElementById("retire-dialog");
  const reason = document.getElementById("retire-reason");
  const problem = document.getElementById("retire-error");
  const entries = document.getElementById("impact-entries");
  const gaps = document.getElementById("impact-gaps");
  entries.replaceChildren(el("li", {}, "正在计算影响…"));
  gaps.replaceChildren();
  problem.textContent = "";
  reason.value = "";
  reason.oninput = () => { problem.textContent = ""; };
  const query = ids.map((id) => "ids=" + encodeURIComponent(id)).join("&");
  getJson("/studio/api/retire-impact?" + query).then((impact) => {
    entries.replaceChildren(...impact.entries.map((e) => el("li", {},
      el("strong", {}, e.id), ` · ${e.kind} · ${e.intents.join("、")} · 采用率 ${e.uptake}`,
      el("div", {class: "snippet"}, e.text))));
    gaps.replaceChildren(impact.gaps.length
      ? el("p", {class: "bad"}, "下线后这些必需的覆盖格会变空：" + impact.gaps.join("；"))
      : el("p", {class: "good"}, "不会留下覆盖缺口。"));
  }).catch((error) => { problem.textContent = error.message; });
  dialog.showModal();
  reason.focus();
  return new Promise((resolve) => {
    const form = document.getElementById("retire-form");
    const done = (value) => {
      form.removeEventListener("submit", onSubmit);
      document.getElementById("retire-cancel").removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      dialog.close();
      resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      if (!reason.value.trim()) { problem.textContent = "请写明下线原因。"; reason.focus(); return; }
      done(reason.value.trim());
    };
    const onCancel = (event) => { event.preventDefault(); done(null); };
    form.addEventListener("submit", onSubmit);
    document.getElementById("retire-cancel").addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
  });
}
