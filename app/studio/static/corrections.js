"use strict";
// Agents' corrections: accept one as a training example (approver, not its agent) or set it aside.
function resolve(row, action) {
  const result = row.querySelector(".result");
  const take = (cls) => { const box = row.querySelector(cls); return box ? box.checked : false; };
  const body = {
    text: row.querySelector("input.text").value,
    intent: take(".take-intent"),
    emotion: take(".take-emotion"),
    escalation: take(".take-escalation"),
  };
  const buttons = [...row.querySelectorAll("button")];
  buttons.forEach((b) => { b.disabled = true; });
  result.textContent = action === "accept" ? "加入示例中，正在更新索引…" : "处理中…";
  result.className = "result";
  postJson(`/studio/api/corrections/${row.dataset.id}/${action}`, action === "accept" ? body : undefined).then((done) => {
    result.textContent = action === "accept" ? `已加入${done.added.join("、")}的示例，索引已更新。` : "已忽略。";
    result.className = "result good";
    row.classList.add("done");
    const left = document.querySelectorAll("table.corrections tr[data-id]:not(.done)").length;
    document.getElementById("queue-size").textContent = `${left} 条待处理`;
    const nav = document.getElementById("corrections-count");
    if (nav) nav.textContent = left;
  }).catch((error) => {
    result.textContent = error.message;
    result.className = "result bad";
    buttons.forEach((b) => { b.disabled = false; });
  });
}

for (const row of document.querySelectorAll("table.corrections tr[data-id]")) {
  for (const action of ["accept", "dismiss"]) {
    const button = row.querySelector("button." + action);
    if (button) button.addEventListener("click", () => resolve(row, action));
  }
}
