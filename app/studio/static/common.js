"use strict";
// Shared helpers: JSON calls carrying the session's CSRF token, and safe DOM building (no innerHTML).
const CSRF = document.querySelector('meta[name="csrf-token"]').content;

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {"content-type": "application/json", "x-csrf-token": CSRF},
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error((data.error && data.error.message) || ("HTTP " + response.status));
    error.status = response.status;
    throw error;
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

const EMOTION_NAMES = {angry: "愤怒", anxious: "焦急", dissatisfied: "不满", neutral: "平静", positive: "积极"};

function escalationText(escalation) {
  const within = escalation.respond_within_minutes ? `，${escalation.respond_within_minutes} 分钟内响应` : "";
  return `需升级：${escalation.team || ""}${within}（${escalation.reason || ""}）`;
}
