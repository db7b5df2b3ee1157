"use strict";
// Library list: select rows, then submit them for approval or retire them (with a reason) in one go.
const picks = () => [...document.querySelectorAll("input.pick")];
const chosen = () => picks().filter((box) => box.checked).map((box) => box.value);
const bulkMessage = document.getElementById("bulk-message");
const retireButton = document.getElementById("bulk-retire");

function refresh() {
  const count = chosen().length;
  document.getElementById("selected-count").textContent = count ? `已选 ${count} 条` : "未选择";
  document.getElementById("bulk-submit").disabled = !count;
  if (retireButton) retireButton.disabled = !count;
}

function showResults(results) {
  const failed = results.filter((r) => !r.ok);
  bulkMessage.replaceChildren(
    el("span", {class: failed.length ? "bad" : "good"}, `完成 ${results.length - failed.length} 条，未完成 ${failed.length} 条。`),
    el("ul", {}, ...failed.map((r) => el("li", {}, el("strong", {}, r.id), "：", r.message))));
}

async function bulk(action, comment) {
  bulkMessage.textContent = "处理中…";
  try {
    const result = await postJson("/studio/api/bulk", {action, ids: chosen(), comment});
    showResults(result.results);
    if (result.results.some((r) => r.ok)) setTimeout(() => window.location.reload(), 2500);
  } catch (error) {
    bulkMessage.replaceChildren(el("span", {class: "bad"}, error.message));
  }
}

document.getElementById("select-all").addEventListener("change", (event) => {
  for (const box of picks()) box.checked = event.target.checked;
  refresh();
});
for (const box of picks()) box.addEventListener("change", refresh);
document.getElementById("bulk-submit").addEventListener("click", () => bulk("submit", ""));
if (retireButton) {
  retireButton.addEventListener("click", async () => {
    const reason = await confirmRetire(chosen());
    if (reason) bulk("retire", reason);
  });
}
refresh();
