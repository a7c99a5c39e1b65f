// The wording editors (admin/wording_*.html): "Insert" puts a placeholder where the cursor is in the text area.
// A static file (the pages' CSP forbids inline script). Without JavaScript the buttons stay hidden and the
// list shows what to type.
"use strict";
(() => {
  const areas = Array.from(document.querySelectorAll("textarea[data-insert-target], textarea#template"));
  let last = areas[0] || null;
  areas.forEach((area) => area.addEventListener("focus", () => { last = area; }));
  const insert = (area, text) => {
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? start;
    area.focus();
    area.setRangeText(text, start, end, "end");
    area.dispatchEvent(new Event("input", { bubbles: true }));
  };
  document.querySelectorAll("button.insert[data-insert]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => {
      const target = (button.dataset.target && document.getElementById(button.dataset.target)) || last;
      if (target) insert(target, button.dataset.insert);
    });
  });
})();
