// Injection session form, stock part: the lot picker (fills lot, expiry, product and vial size
// from stock; warns on a lot that expires soon; shows until when the reconstituted vial is usable)
// and "Suggest a plan" (POST /api/sessions/plan-dose fills the site rows from the dose planner).
// The live check (session_form.js) listens to the form's input events and judges the result.
(function () {
  "use strict";
  var form = document.getElementById("session-form");
  if (!form) return;
  // read at each request: a log-in in the page after the session ended (session_idle.js) renews it
  function csrf() { return document.querySelector('meta[name="csrf-token"]').getAttribute("content"); }
  function field(name) { return form.querySelector('[name="' + name + '"]'); }
  function set(name, value) {
    var input = field(name);
    if (!input || value === undefined || value === null) return;
    input.value = String(value);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function days(from, to) { // whole days between two YYYY-MM-DD dates
    var a = Date.parse(from + "T00:00:00Z"), b = Date.parse(to + "T00:00:00Z");
    return isNaN(a) || isNaN(b) ? null : Math.round((b - a) / 86400000);
  }

  // --- the lot picker -------------------------------------------------------------------------
  var box = document.getElementById("lot-picker-box");
  var picker = document.getElementById("lot-picker");
  var warning = document.getElementById("lot-warning");
  var usable = document.getElementById("usable-until");
  var warnDays = box ? Number(box.getAttribute("data-warn-days")) : 0;
  var usableHours = box ? JSON.parse(box.getAttribute("data-usable-hours") || "{}") : {};
  var readySolutions = box ? JSON.parse(box.getAttribute("data-ready-solutions") || "[]") : [];

  function stockOption(lot) {
    if (!picker || !lot) return null;
    var want = lot.trim().toUpperCase();
    return Array.prototype.filter.call(picker.options, function (o) {
      return o.value && o.value.toUpperCase() === want;
    })[0] || null;
  }
  function showLotWarning() {
    if (!warning) return;
    var lot = field("lot").value.trim(), expiry = field("lot_expiry").value, day = field("date").value;
    var left = expiry && day ? days(day, expiry) : null;
    var text = "";
    if (left !== null && left < 0) text = "Lot " + lot + " expired on " + expiry + ": do not use it.";
    else if (left !== null && left <= warnDays)
      text = "Lot " + lot + " expires on " + expiry + ", " + (left === 0 ? "today" : "in " + left + (left === 1 ? " day" : " days")) +
        " (flagged within " + warnDays + " days): use it before lots that expire later, and check the date on the carton.";
    warning.textContent = text;
    warning.hidden = text === "";
  }
  function showUsableUntil() {
    if (!usable) return;
    var at = field("reconstituted_at").value, product = field("product").value;
    var hours = usableHours[product];
    // a ready-to-use solution (MYOBLOC) given undiluted was not prepared: its window is for diluted solution
    var diluent = field("diluent_ml");
    var undiluted = readySolutions.indexOf(product) >= 0 && diluent && diluent.value !== "" && Number(diluent.value) === 0;
    if (!at || !hours || undiluted) { usable.textContent = ""; return; }
    var start = new Date(at);
    if (isNaN(start.getTime())) { usable.textContent = ""; return; }
    var end = new Date(start.getTime() + hours * 3600000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    usable.textContent = "Reconstituted at " + at.replace("T", " ") + ": usable until " + end.getFullYear() + "-" +
      two(end.getMonth() + 1) + "-" + two(end.getDate()) + " " + two(end.getHours()) + ":" + two(end.getMinutes()) +
      " (" + hours + " h after reconstitution, as the label says).";
  }
  if (picker) {
    picker.addEventListener("change", function () {
      var o = picker.options[picker.selectedIndex];
      if (!o || !o.value) return;
      set("product", o.getAttribute("data-product"));
      set("vial_units", o.getAttribute("data-units"));
      set("lot", o.value);
      set("lot_expiry", o.getAttribute("data-expiry"));
      showLotWarning(); showUsableUntil();
    });
    ["lot", "lot_expiry", "date"].forEach(function (name) {
      var input = field(name);
      if (input) input.addEventListener("input", function () {
        if (name === "lot") {
          var o = stockOption(input.value);
          if (o) { picker.value = o.value; if (!field("lot_expiry").value) set("lot_expiry", o.getAttribute("data-expiry")); }
        }
        showLotWarning();
      });
    });
    ["reconstituted_at", "product", "diluent_ml"].forEach(function (name) {
      var input = field(name);
      if (input) { input.addEventListener("input", showUsableUntil); input.addEventListener("change", showUsableUntil); }
    });
    showLotWarning(); showUsableUntil();
  }

  // --- Suggest a plan -------------------------------------------------------------------------
  var button = document.getElementById("suggest-plan");
  var status = document.getElementById("suggest-status");
  if (!button) return;
  function rows() { return Array.prototype.slice.call(form.querySelectorAll("tr.site-row")); }
  function value(name) { var i = field(name); return i ? i.value.trim() : ""; }
  function request() {
    var doc = { patient_id: form.getAttribute("data-patient-id") };
    ["episode_id", "date", "injector_id", "product", "lot", "lot_expiry", "reconstituted_at", "administered_at"].forEach(function (n) {
      if (value(n) !== "") doc[n] = value(n);
    });
    if (value("vial_units") !== "" && isFinite(Number(value("vial_units")))) doc.vial_units = Number(value("vial_units"));
    var intensity = document.getElementById("suggest-intensity").value, seen = {};
    doc.targets = [];
    rows().forEach(function (row) {
      var m = row.querySelector('[name$=".muscle"]').value, s = row.querySelector('[name$=".side"]').value;
      if (m && s && !seen[m + s]) { seen[m + s] = true; doc.targets.push({ muscle: m, side: s, intensity: intensity }); }
    });
    return doc;
  }
  function rowsFor(n) { // at least n rows, cloned like "Add a site" does
    var all = rows();
    while (all.length < n) {
      var row = all[all.length - 1].cloneNode(true), k = all.length;
      row.querySelectorAll("input, select").forEach(function (i) {
        i.name = i.name.replace(/sites\[\d+\]/, "sites[" + k + "]"); i.value = ""; i.classList.remove("has-error");
        var label = i.getAttribute("aria-label");
        if (label) i.setAttribute("aria-label", label.replace(/row \d+/, "row " + (k + 1)));
      });
      row.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      row.querySelector(".site-ml").textContent = "";
      all[0].parentNode.appendChild(row);
      all = rows();
    }
    return all;
  }
  function fill(plan) {
    var all = rowsFor(plan.sites.length);
    all.forEach(function (row, i) {
      var site = plan.sites[i];
      row.querySelector('[name$=".muscle"]').value = site ? site.muscle : "";
      row.querySelector('[name$=".side"]').value = site ? site.side : "";
      row.querySelector('[name$=".units"]').value = site ? String(site.units) : "";
    });
    set("product", plan.product);
    set("vial_units", plan.vials.vial_units);
    set("vial_count", plan.vials.vial_count);
    set("diluent_ml", plan.dilution.diluent_ml);
    var v = plan.vials;
    status.textContent = "Suggested: " + plan.total_units + " U in " + plan.sites.length + " site" +
      (plan.sites.length === 1 ? "" : "s") + "; " + v.vial_count + " × " + v.vial_units + " U vial" +
      (v.vial_count === 1 ? "" : "s") + " (" + v.discarded_units + " U left over) in " + plan.dilution.diluent_ml +
      " mL. Check every row before saving; the engine's decision is below." +
      (plan.findings.length ? " " + plan.findings.map(function (f) { return "Warning: " + f.message + " " + f.advice; }).join(" ") : "") +
      (plan.assumptions.length ? " " + plan.assumptions.join(" ") : "");
  }
  button.addEventListener("click", function () {
    status.textContent = "Planning…";
    button.disabled = true;
    fetch("/api/sessions/plan-dose", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: JSON.stringify(request()),
      credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    }).then(function (res) {
      if (res.ok) { fill(res.body); return; }
      if (res.status === 401) { // the session ended: words, not the API's
        status.textContent = "Your session has ended: no plan suggested. Log in again (the button at the top " +
          "of the page, or Save), then ask again. What you typed is still here.";
        document.dispatchEvent(new CustomEvent("bontrack:session-ended")); // session_idle.js says so too
        return;
      }
      var names = { product: "Product", episode_id: "Episode", injector_id: "Injecting physician", date: "Session date",
        vial_units: "Vial size", lot_expiry: "Lot expiry", reconstituted_at: "Reconstituted at", targets: "" };
      var errors = (res.body.errors || []).map(function (e) {
        var name = names[e.field] !== undefined ? names[e.field] : e.field.replace(/_/g, " ");
        var text = /required/i.test(e.message) ? "choose or fill it in first." : e.message;
        return name ? name + ": " + text : text;
      });
      status.textContent = "No plan suggested: " + (errors.length ? errors.join(" ") : (res.body.detail || "the request was refused."));
    }).catch(function () {
      status.textContent = "Could not reach the server; try again.";
    }).then(function () { button.disabled = false; });
  });
})();
