// The form builder without reloads where it helps: drag and drop (it sends the same "move" step the
// buttons send), the preview's phone/desktop switch, the example answer checked as it is typed, and the
// field editor saved as soon as a value changes (the field list and the preview follow at once).
// Everything also works without this file: every button is a plain form.
(function () {
  const $ = (selector, root) => (root || document).querySelector(selector);

  // ---- drag and drop ------------------------------------------------------------------------------
  let dragged = null;
  const listOf = li => li.parentElement;
  const clearMarks = () => document.querySelectorAll(".b-drop-before, .b-dragging").forEach(el => el.classList.remove("b-drop-before", "b-dragging"));

  document.addEventListener("dragstart", event => {
    const li = event.target.closest && event.target.closest("li.b-field");
    if (!li) return;
    dragged = li;
    li.classList.add("b-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", li.dataset.path);
  });
  document.addEventListener("dragover", event => {
    const li = dragged && event.target.closest && event.target.closest("li.b-field");
    if (!li || li === dragged || dragged.contains(li)) return;
    event.preventDefault();
    document.querySelectorAll(".b-drop-before").forEach(el => el.classList.remove("b-drop-before"));
    li.classList.add("b-drop-before");
  });
  document.addEventListener("dragend", () => { clearMarks(); dragged = null; });
  document.addEventListener("drop", event => {
    const li = dragged && event.target.closest && event.target.closest("li.b-field");
    if (!li || li === dragged || dragged.contains(li)) return;
    event.preventDefault();
    const from = listOf(dragged), to = listOf(li);
    const siblings = Array.from(to.children);
    let index = siblings.indexOf(li);  // dropped before this one
    if (from === to && siblings.indexOf(dragged) < index) index -= 1;  // the dragged one leaves its place first
    const form = $("#b-move-form");
    form.elements.path.value = dragged.dataset.path;
    form.elements.to.value = String(index);
    form.elements.into.value = from === to ? "" : (to.dataset.parent || "_form");
    clearMarks();
    form.submit();
  });

  // ---- preview width -----------------------------------------------------------------------------------
  document.addEventListener("click", event => {
    const link = event.target.closest && event.target.closest("a[data-width]");
    if (!link) return;
    event.preventDefault();
    const screen = $("#b-screen");
    screen.classList.remove("b-phone", "b-desktop");
    screen.classList.add("b-" + link.dataset.width);
    document.querySelectorAll("a[data-width]").forEach(a => a.toggleAttribute("aria-current", a === link));
    const width = $("#preview-form input[name=width]");
    if (width) width.value = link.dataset.width;
  });

  // ---- sending a form in the background and taking parts of the answer -----------------------------------
  function keepFocus(replace) {
    const active = document.activeElement;
    const id = active && active.id;
    replace();
    if (id && document.getElementById(id)) document.getElementById(id).focus();
  }

  async function send(form, extra) {
    const data = new FormData(form);
    Object.entries(extra || {}).forEach(([k, v]) => data.set(k, v));
    const response = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
    return [response.status, await response.text()];
  }

  function swap(doc, selector) {
    const mine = $(selector), theirs = $(selector, doc);
    if (mine && theirs) mine.replaceWith(theirs);
  }

  let previewTimer = null;
  async function refreshPreview() {
    const form = $("#preview-form");
    if (!form) return;
    const [status, html] = await send(form, { fragment: "1" });
    if (status !== 200) return;
    const doc = new DOMParser().parseFromString(html, "text/html");
    keepFocus(() => swap(doc, "#preview-panel"));
  }

  let saving = Promise.resolve();
  function autosave(form) {
    saving = saving.then(async () => {
      const [status, html] = await send(form);
      const doc = new DOMParser().parseFromString(html, "text/html");
      keepFocus(() => {
        swap(doc, ".b-list");
        swap(doc, ".b-status");
        swap(doc, "#preview-panel");
        if (status >= 400) { swap(doc, "#editor"); return; }
        const path = $("#field-editor input[name=path]", doc);  // a renamed field has a new path
        const mine = $("#field-editor input[name=path]");
        if (path && mine) mine.value = path.value;
      });
    }).catch(() => {});
  }

  // A button of the editor pressed while its last change is still being saved: send it once that is done
  // (with the field's new path, should the change have renamed it).
  let waited = false;
  document.addEventListener("submit", event => {
    const form = event.target;
    if (waited || !form.matches || !form.matches("#field-editor, #form-editor")) return;
    event.preventDefault();
    const submitter = event.submitter;
    saving.then(() => {
      waited = true;
      const current = document.getElementById(form.id) || form;
      const button = submitter && submitter.name ? current.querySelector(`button[name="${submitter.name}"][value="${CSS.escape(submitter.value)}"]`) : null;
      current.requestSubmit(button || undefined);
    });
  });

  document.addEventListener("change", event => {
    const target = event.target;
    if (!target.closest) return;
    const editor = target.closest("#field-editor, #form-editor");
    if (editor && target.name && target.type !== "submit") { autosave(editor); return; }
    if (target.closest("#preview-form")) { clearTimeout(previewTimer); previewTimer = setTimeout(refreshPreview, 150); }
  });
})();
