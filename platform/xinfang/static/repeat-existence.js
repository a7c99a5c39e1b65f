// The registration page's system-wide repeat check (全系统判重): once the text is typed, ask whether other, unrelated
// bodies already hold a petition on the same matter. The answer is a count only, said in the page's language.
(function () {
  const box = document.getElementById("repeat-existence");
  if (!box) return;
  const form = box.closest("form");
  const out = document.getElementById("repeat-existence-result");
  const button = document.getElementById("repeat-existence-check");
  const lang = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  const value = name => { const el = form.elements.namedItem(name); return el && typeof el.value === "string" ? el.value.trim() : ""; };
  let last = "";
  async function check(force) {
    const body = { title: value("title"), content: value("content"), subject: value("subject.name"), region: value("region") };
    const key = JSON.stringify(body);
    if (body.content.length < Number(box.dataset.min || 10)) { out.textContent = box.dataset.short; return; }
    if (key === last && !force) return;
    last = key;
    out.textContent = box.dataset.busy;
    try {
      const response = await fetch(box.dataset.url, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf }, body: JSON.stringify(body) });
      const answer = await response.json();
      const message = answer.message || (answer.error && answer.error.message) || {};
      out.textContent = message[lang] || message.zh || box.dataset.failed;
      out.classList.toggle("found", Boolean(answer.other_bodies_petitions));
    } catch (e) { out.textContent = box.dataset.failed; }
  }
  box.hidden = false;
  // On the button only: a check as the text field loses focus raced the form's own submission (the click on 登记
  // blurs the field), and every check is an audited, rate-limited call.
  button.addEventListener("click", () => check(true));
})();
