// Fields of tenant forms (xinfang.forms.rendering). Two things, both optional: without this script every
// field is in view (a conditional one with its note "仅当…时填写") and the region's city list holds every city.
//  * A field with data-when-name / data-when-value (/ data-when-contains) is shown only while the answer named
//    by data-when-name is that value (or, for a multiple choice, includes it); while hidden its controls are
//    disabled, so nothing of it is sent (the server drops such answers and checks the condition anyway).
//  * A region (fieldset[data-region]) narrows its selects: the province's cities, then the city's counties,
//    from /static/regions.json ({code: name}, GB/T 2260).
(function () {
  "use strict";
  document.documentElement.classList.add("xf-js");

  function scopeOf(element) { return element.closest("form") || document; }

  function answers(scope, name) {
    var out = [];
    scope.querySelectorAll("input, select, textarea").forEach(function (c) {
      if (c.name !== name || c.disabled) { return; }
      if (c.type === "checkbox" && c.closest(".xf-checkbox")) { out.push(c.checked ? "true" : "false"); return; }
      if (c.type === "checkbox" || c.type === "radio") { if (c.checked && c.value !== "") { out.push(c.value); } return; }
      if (c.value !== "") { out.push(c.value.trim()); }
    });
    return out;
  }

  function holds(wrapper) {
    var given = answers(scopeOf(wrapper), wrapper.getAttribute("data-when-name"));
    var wanted = wrapper.getAttribute("data-when-value");
    if (wrapper.hasAttribute("data-when-contains")) { return given.indexOf(wanted) >= 0; }
    return given.length === 1 && given[0] === wanted;
  }

  function setShown(wrapper, shown) {
    if (wrapper.hidden === !shown) { return false; }
    wrapper.hidden = !shown;
    wrapper.querySelectorAll("input, select, textarea").forEach(function (c) { c.disabled = !shown; });
    return true;
  }

  function updateConditions() {
    var wrappers = document.querySelectorAll("[data-when-name]");
    // a condition may name a field that is itself conditional: settle in a few rounds
    for (var round = 0; round < 5; round++) {
      var changed = false;
      wrappers.forEach(function (w) { changed = setShown(w, holds(w)) || changed; });
      if (!changed) { break; }
    }
  }

  // ------------------------------------------------------------------ regions
  var regionData = null;
  function loadRegions() {
    if (!regionData) {
      regionData = fetch("/static/regions.json", { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("regions " + r.status); }
        return r.json();
      });
    }
    return regionData;
  }

  function citiesOf(names, province) {
    return Object.keys(names).filter(function (c) {
      return c.slice(0, 2) === province.slice(0, 2) && c.slice(4) === "00" && c.slice(2) !== "0000";
    }).sort();
  }

  function countiesOf(names, city) {
    return Object.keys(names).filter(function (c) {
      return c.slice(0, 4) === city.slice(0, 4) && c.slice(4) !== "00";
    }).sort();
  }

  function fill(select, first, codes, names, chosen) {
    select.textContent = "";
    var head = document.createElement("option");
    head.value = "";
    head.textContent = first;
    select.appendChild(head);
    codes.forEach(function (code) {
      var option = document.createElement("option");
      option.value = code;
      option.textContent = names[code];
      if (code === chosen) { option.selected = true; }
      select.appendChild(option);
    });
    if (!codes.length || !chosen) { head.selected = true; }
  }

  function setupRegion(fieldset) {
    var province = fieldset.querySelector("[data-region-level=province]");
    var city = fieldset.querySelector("[data-region-level=city]");
    var county = fieldset.querySelector("[data-region-level=county]");
    if (!province || !city || !county || fieldset.hasAttribute("data-region-ready")) { return; }
    fieldset.setAttribute("data-region-ready", "true");
    var choose = county.getAttribute("data-choose");
    loadRegions().then(function (names) {
      function refreshCities(keep) {
        if (!province.value) { fill(city, choose, [], names, ""); return; }
        fill(city, choose, citiesOf(names, province.value), names, keep);
      }
      function refreshCounties(keep) {
        if (!city.value) { fill(county, county.getAttribute("data-choose-city-first"), [], names, ""); return; }
        var codes = countiesOf(names, city.value);
        fill(county, codes.length ? choose : county.getAttribute("data-no-county"), codes, names, keep);
      }
      if (!province.value && city.value) { province.value = city.value.slice(0, 2) + "0000"; }
      refreshCities(city.value);
      refreshCounties(county.value);
      province.addEventListener("change", function () { refreshCities(""); refreshCounties(""); });
      city.addEventListener("change", function () { refreshCounties(""); });
    }).catch(function () { /* the lists the server rendered stay as they are */ });
  }

  function refresh() {
    updateConditions();
    document.querySelectorAll("fieldset[data-region]").forEach(setupRegion);
  }
  // pages that put rendered fields in later (a live preview) call this after inserting them
  window.xinfangFormFields = { refresh: refresh };

  function start() {
    refresh();
    document.addEventListener("change", updateConditions);
    document.addEventListener("input", updateConditions);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
