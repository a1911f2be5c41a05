// Injection session form: asks the decision engine (POST /api/sessions/check) as the plan is
// edited and shows allow/warn/block with each reason and its source, and the engine's dilution.
(function () {
  "use strict";
  var form = document.getElementById("session-form");
  if (!form) return;
  // read at each request: a log-in in the page after the session ended (session_idle.js) renews it
  function csrf() { return document.querySelector('meta[name="csrf-token"]').getAttribute("content"); }
  var decisionBox = document.getElementById("decision");
  var status = document.getElementById("check-status");
  var override = document.getElementById("override");
  // what stands against any plan today (shown when the form opens): the plan's own decision
  // repeats those findings, so the box gives way to it and comes back while the plan is incomplete
  var standing = document.getElementById("standing");
  function showStanding(shown) { if (standing) standing.hidden = !shown; }
  var timer = null, seq = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function rows() { return Array.prototype.slice.call(form.querySelectorAll("tr.site-row")); }
  function filled(row) {
    return Array.prototype.some.call(row.querySelectorAll("input, select"), function (i) { return i.value.trim() !== ""; });
  }
  // The API takes strict JSON: a number field is sent as a number, not as the text typed.
  function valueOf(input) {
    var v = input.value.trim();
    return input.type === "number" && v !== "" && isFinite(Number(v)) ? Number(v) : v;
  }
  // The plan as SessionCreate JSON: blank fields left out, blank site rows dropped (like the
  // server), the override left out.
  function plan() {
    var doc = { patient_id: form.getAttribute("data-patient-id"), sites: [] };
    var used = [];
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.name === "csrf_token" || input.name.indexOf("sites[") === 0) return;
      if (input.hasAttribute("data-not-plan")) return; // the reason for a correction
      // the override is judged when the session is saved, not by the live check of the plan (a
      // block ticked before the reason is written is not an error of the plan)
      if (input.name.indexOf("override.") === 0) return;
      var v = valueOf(input);
      if (v === "") return;
      var parts = input.name.split(".");
      if (parts.length === 2) { doc[parts[0]] = doc[parts[0]] || {}; doc[parts[0]][parts[1]] = v; }
      else doc[input.name] = v;
    });
    rows().forEach(function (row) {
      if (!filled(row)) return;
      var site = {};
      row.querySelectorAll("input, select").forEach(function (i) {
        if (i.value.trim() !== "") site[i.name.split(".").pop()] = valueOf(i);
      });
      doc.sites.push(site);
      used.push(row);
    });
    return { doc: doc, rows: used };
  }
  function clearErrors() {
    form.querySelectorAll(".field-error[data-live]").forEach(function (e) { e.remove(); });
    form.querySelectorAll(".has-error[data-live]").forEach(function (e) { e.classList.remove("has-error"); e.removeAttribute("data-live"); });
  }
  function inputFor(field, used) {
    var m = /^sites\[(\d+)\]\.(\w+)$/.exec(field);
    if (m) {
      var row = used[Number(m[1])];
      return row ? row.querySelector('[name$=".' + m[2] + '"]') : null;
    }
    return form.querySelector('[name="' + field + '"]');
  }
  function showErrors(problem, used) {
    var list = el("ul");
    (problem.errors || []).forEach(function (e) {
      var input = inputFor(e.field, used);
      if (input) {
        input.classList.add("has-error"); input.setAttribute("data-live", "");
        var msg = el("span", "field-error", e.text || e.message); msg.setAttribute("data-live", "");
        input.insertAdjacentElement("afterend", msg);
      }
      // the sentence the server makes of it, with the field's label (bontrack.web.plain)
      list.appendChild(el("li", "", e.text || e.message));
    });
    decisionBox.replaceChildren(el("p", "muted", "Complete the plan to see the decision:"), list);
    showStanding(true);
  }
  function fmt(x, digits) { return Number(x).toFixed(digits).replace(/\.?0+$/, ""); }
  function showDecision(record, used) {
    var d = record.decision, box = el("div", "decision " + d.decision);
    var head = el("p");
    head.appendChild(el("span", "badge " + d.decision, d.decision));
    var blocks = d.findings.filter(function (f) { return f.severity === "block"; });
    if (blocks.length) {
      head.appendChild(document.createTextNode(" "));
      head.appendChild(el("strong", "", blocks[0].message));
      head.appendChild(document.createTextNode((blocks.length > 1 ? " (and " + (blocks.length - 1) + (blocks.length === 2 ? " more block.)" : " more blocks.)") : "") +
        " It can be saved only as your override: tick each block and write the reason."));
    } else {
      head.appendChild(document.createTextNode(" " + {
        allow: "No safety rule objects to this plan.",
        warn: "The plan may go ahead; read each warning."
      }[d.decision]));
    }
    box.appendChild(head);
    if (d.findings.length) {
      var ul = el("ul");
      d.findings.forEach(function (f) {
        var li = el("li");
        li.appendChild(el("span", "badge " + f.severity, f.severity));
        li.appendChild(document.createTextNode(" " + f.message + " "));
        if (f.advice) li.appendChild(el("em", "", f.advice));
        var src = el("details", "source");
        src.appendChild(el("summary", "", "Source"));
        src.appendChild(document.createTextNode(f.source));
        li.appendChild(src);
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    var dil = d.dilution;
    box.appendChild(el("p", "dilution", "Dilution: " + fmt(dil.units_per_0_1_ml, 3) + " U per 0.1 mL (" +
      fmt(dil.units_per_ml, 2) + " U/mL); " + fmt(dil.total_units, 2) + " U in " + fmt(dil.total_volume_ml, 2) +
      " mL of " + fmt(dil.available_units, 2) + " U available."));
    box.appendChild(el("p", "source", "Knowledge base " + d.knowledge_version));
    decisionBox.replaceChildren(box);
    showStanding(false);
    rows().forEach(function (row) { row.querySelector(".site-ml").textContent = ""; });
    dil.sites.forEach(function (s, i) {
      if (used[i]) used[i].querySelector(".site-ml").textContent = fmt(s.volume_ml, 2) + " mL";
    });
    override.hidden = d.decision !== "block";
    showBlocks(blocks);
  }
  // One checkbox per block of the current decision, in the finding's words; a block still there
  // keeps its tick. Rebuilt only when the blocks change, so a tick is never lost while checking.
  var blockList = document.getElementById("override-blocks"), shownBlocks = null;
  function showBlocks(blocks) {
    if (!blockList) return;
    var key = JSON.stringify(blocks.map(function (f) { return [f.code, f.message]; }));
    if (shownBlocks === null) {
      shownBlocks = JSON.stringify(Array.prototype.map.call(blockList.querySelectorAll("label"), function (l) {
        var i = l.querySelector("input");
        return [i.value, l.textContent.trim()];
      }));
    }
    if (key === shownBlocks) return;
    var ticked = {};
    blockList.querySelectorAll("input:checked").forEach(function (i) { ticked[i.value] = true; });
    blockList.replaceChildren.apply(blockList, blocks.map(function (f) {
      var label = el("label"), box = el("input");
      box.type = "checkbox"; box.name = "override.acknowledged"; box.value = f.code; box.checked = !!ticked[f.code];
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + f.message));
      return label;
    }));
    shownBlocks = key;
  }
  function check() {
    var p = plan(), mine = ++seq;
    status.textContent = "Checking…";
    var correcting = form.getAttribute("data-correcting"); // judged without its earlier version
    fetch("/api/sessions/check" + (correcting ? "?correcting=" + encodeURIComponent(correcting) : ""), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: JSON.stringify(p.doc),
      credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    }).then(function (res) {
      if (mine !== seq) return; // a newer check is on its way
      if (res.status === 401) { // the session ended: the plan and its last decision stay as they are
        refused = true;
        status.textContent = "Your session has ended, so the plan was not checked again. What you typed is " +
          "still here: Save asks you to log in again, and the plan is judged when it is saved.";
        document.dispatchEvent(new CustomEvent("bontrack:session-ended")); // session_idle.js says so too
        return;
      }
      if (!res.ok && !(res.body && res.body.errors)) { // refused as a whole (not the plan's fields)
        refused = true;
        status.textContent = "The plan could not be checked just now; it is judged when you save.";
        return;
      }
      refused = false;
      clearErrors();
      if (res.ok) { showDecision(res.body, p.rows); status.textContent = "Decision updated " + new Date().toLocaleTimeString(); }
      else { showErrors(res.body, p.rows); status.textContent = ""; }
    }).catch(function () { if (mine === seq) status.textContent = "Could not reach the server; the decision is shown when you save."; });
  }
  // logged in again in the page (session_idle.js): a check refused meanwhile is made again
  var refused = false;
  document.addEventListener("bontrack:session-renewed", function () { if (refused) later(); });
  function later() { clearTimeout(timer); timer = setTimeout(check, 350); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);

  function addRow(muscle, side) {
    var all = rows(), empty = all.filter(function (r) { return !filled(r); })[0];
    if (!empty) {
      empty = all[all.length - 1].cloneNode(true);
      var n = all.length;
      empty.querySelectorAll("input, select").forEach(function (i) {
        i.name = i.name.replace(/sites\[\d+\]/, "sites[" + n + "]"); i.value = "";
        var label = i.getAttribute("aria-label");
        if (label) i.setAttribute("aria-label", label.replace(/\d+$/, String(n + 1)));
        i.classList.remove("has-error");
      });
      empty.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      empty.querySelector(".site-ml").textContent = "";
      all[0].parentNode.appendChild(empty);
    }
    if (muscle) empty.querySelector('[name$=".muscle"]').value = muscle;
    if (side) empty.querySelector('[name$=".side"]').value = side;
    var units = empty.querySelector('[name$=".units"]');
    units.focus();
    later();
  }
  document.getElementById("add-site").addEventListener("click", function () { addRow(); });
  document.addEventListener("bontrack:add-site", function (ev) { addRow(ev.detail.muscle, ev.detail.side); });
  if (form.querySelector('[name="product"]').value) later();
})();
