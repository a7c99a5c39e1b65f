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
    say(document.getElementById("problems"), result.problems || (result.error ? [result.error] : []), p => p.path ? `${p.path}: ${p[lang] || p.message?.[lang]}` : (p[lang] || JSON.stringify(p)));
    say(document.getElementById("errors"), result.errors || [], e => `${e.path || "·"}: ${e[lang]}`);
    document.getElementById("preview").innerHTML = result.html || "";
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(preview, 300); }
  schemaBox.addEventListener("input", schedule);
  exampleBox.addEventListener("input", schedule);
  document.getElementById("publish").addEventListener("click", async () => {
    const [status, result] = await post(`/api/forms/${schemaBox.dataset.key}/versions`, { schema: JSON.parse(schemaBox.value) });
    document.getElementById("status").textContent = status < 300 ? `v${result.version} ✓` : JSON.stringify(result.error);
  });
  preview();
})();
