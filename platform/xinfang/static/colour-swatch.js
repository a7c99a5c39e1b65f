// Keeps the swatch next to a colour picker in step with it while the admin picks
// (a static file: the pages' CSP forbids inline script; setting a style from here is allowed).
"use strict";
document.querySelectorAll("input[type=color][data-swatch]").forEach((picker) => {
  const swatch = document.getElementById(picker.dataset.swatch);
  if (!swatch) return;
  const sync = () => {
    swatch.style.backgroundColor = picker.value;
    const shown = swatch.querySelector("output");
    if (shown) shown.textContent = picker.value;
  };
  picker.addEventListener("input", sync);
  picker.addEventListener("change", sync);
});
