"use strict";
// Approver queue: approve or reject each submitted version where it is shown, with a comment.
function decide(article, action) {
  const result = article.querySelector(".result");
  const comment = article.querySelector(".comment").value;
  if (action === "reject" && !comment.trim()) {
    result.textContent = "驳回时请写明意见，作者需要知道改什么。";
    result.className = "result bad";
    article.querySelector(".comment").focus();
    return;
  }
  const buttons = [...article.querySelectorAll("button")];
  buttons.forEach((b) => { b.disabled = true; });
  result.textContent = action === "approve" ? "审核通过中，正在更新索引…" : "驳回中…";
  result.className = "result";
  const id = encodeURIComponent(article.dataset.entryId);
  postJson(`/studio/api/scripts/${id}/${action}`, {comment}).then((change) => {
    result.textContent = change.message;
    result.className = "result good";
    article.classList.add("done");
    const left = document.querySelectorAll("article.review:not(.done)").length;
    document.getElementById("queue-size").textContent = `${left} 条`;
    const nav = document.getElementById("review-count");
    if (nav) nav.textContent = left;
  }).catch((error) => {
    result.textContent = error.message;
    result.className = "result bad";
    buttons.forEach((b) => { b.disabled = false; });
  });
}

for (const article of document.querySelectorAll("article.review")) {
  for (const action of ["approve", "reject"]) {
    const button = article.querySelector("button." + action);
    if (button) button.addEventListener("click", () => decide(article, action));
  }
}
