// The import page's progress bar: while a run is under way, ask for its progress every second; reload when it is done.
(function () {
  var panel = document.getElementById("progress-panel");
  if (!panel || panel.dataset.running !== "yes") return;
  var bar = document.getElementById("run-progress");
  var counts = document.getElementById("run-counts");
  var state = document.getElementById("run-state");
  var zh = document.documentElement.lang !== "en";
  function tick() {
    fetch(panel.dataset.progressUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { setTimeout(tick, 3000); return; }
        bar.max = p.total || 1;
        bar.value = p.processed;
        state.textContent = zh ? p.state_words.zh : p.state_words.en;
        counts.textContent = zh
          ? "已处理 " + p.processed + " / " + p.total + " 行：可导入 " + p.valid + "，原已导入 " + p.already + "，" + (p.state === "importing" || p.state === "imported" ? "已更新 " : "将更新 ") + p.changed + "，有问题 " + p.invalid + "，本次导入 " + p.imported + "。"
          : p.processed + " of " + p.total + " rows done: " + p.valid + " valid, " + p.already + " already imported, " + (p.state === "importing" || p.state === "imported" ? "updated " : "to update ") + p.changed + ", " + p.invalid + " with problems, " + p.imported + " imported now.";
        if (p.running) setTimeout(tick, 1000); else window.location.reload();
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 500);
})();
