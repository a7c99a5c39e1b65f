// Live preview for the form admin page: re-render the draft schema as citizens will see it.
(function () {
  const schemaBox = document.getElementById("schema");
  const exampleBox = document.getElementById("example");
  const base = location.pathname.replace(/\/admin\/forms.*$/, "");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const lang = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  const say = (el, items, render) => { el.innerHTML = ""; items.forEach(i => { const li = document.createElement("li"); li.textContent = render(i); el.appendChild(li); }); };
  let timer = null;

  async function post(path, body) {
    const response = await fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body), credentials: "same-origin" });
    return [response.status, await response.json()];
  }

  async function preview() {
    let schema, example;
    try { schema = JSON.parse(schemaBox.value); example = JSON.parse(exampleBox.value || "{}"); }
    catch (e) { say(document.getElementById("problems"), [e.message], x => "JSON: " + x); return; }
    const [, result] = await post("/api/forms/preview", { schema, example, lang });
    // In words: each message says which field it is about; the schema location follows for the admin editing it.
    const at = document.getElementById("status").dataset.at;
    say(document.getElementById("problems"), result.problems || (result.error ? [result.error] : []),
        p => (p[lang] || p.message?.[lang] || p.zh || "") + (p.path ? `（${at} ${p.path}）` : ""));
    say(document.getElementById("errors"), result.errors || [], e => e[lang] || e.zh);
    document.getElementById("preview").innerHTML = result.html || "";
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(preview, 300); }
  schemaBox.addEventListener("input", schedule);
  exampleBox.addEventListener("input", schedule);
  // Publishing: the outcome in words (the page's language only), a refusal's field messages listed, and the
  // version shown in the form's tab brought up to date.
  const statusBox = document.getElementById("status");
  const errorBox = document.getElementById("publish-errors");
  const words = (template, n) => template.replace("{n}", n);

  function showRefusal(lead, fields) {
    errorBox.replaceChildren();
    const head = document.createElement("p");
    head.textContent = lead;
    errorBox.appendChild(head);
    const list = document.createElement("ul");
    Object.entries(fields || {}).forEach(([path, message]) => {
      const li = document.createElement("li");
      li.textContent = (message && (message[lang] || message.zh)) || "";
      const where = path.replace(/^schema\.?/, "");
      if (where) {  // where in the schema, for the admin editing it
        const code = document.createElement("code");
        code.textContent = where;
        li.append(`（${statusBox.dataset.at} `, code, "）");
      }
      list.appendChild(li);
    });
    if (list.children.length) errorBox.appendChild(list);
    errorBox.hidden = false;
  }

  function showVersion(key, version) {
    const tab = document.querySelector(`#form-tabs a[data-key="${CSS.escape(key)}"] .version`);
    if (tab) tab.textContent = words(statusBox.dataset.tab, version);
  }

  document.getElementById("publish").addEventListener("click", async () => {
    statusBox.textContent = "";
    errorBox.hidden = true;
    let schema;
    try { schema = JSON.parse(schemaBox.value); }
    catch (e) { showRefusal(statusBox.dataset.badJson + e.message, {}); return; }
    const [status, result] = await post(`/api/forms/${schemaBox.dataset.key}/versions`, { schema });
    if (status < 300) {
      statusBox.textContent = words(result.created ? statusBox.dataset.published : statusBox.dataset.unchanged, result.version);
      showVersion(result.key, result.version);
      return;
    }
    const error = result.error || {};
    showRefusal((error.message && (error.message[lang] || error.message.zh)) || String(status), error.fields);
  });
  preview();
})();
