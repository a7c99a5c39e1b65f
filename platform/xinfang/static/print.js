// The "print" button of document pages (kept out of the page: the CSP allows no inline script).
document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
