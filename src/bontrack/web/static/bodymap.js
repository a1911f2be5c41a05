// Body map: tap a muscle for details; on forms, tapping marks it (trigger point) or adds an injection site.
(function () {
  "use strict";
  function describe(g) {
    return g.getAttribute("aria-label");
  }
  function activate(g) {
    var box = g.closest("[data-bodymap]");
    var mode = box ? box.getAttribute("data-bodymap") : "show";
    var muscle = g.getAttribute("data-muscle"), side = g.getAttribute("data-side");
    var detail = document.getElementById("bodymap-detail");
    if (mode === "trigger-points") {
      var box2 = document.querySelector('input[name="tp.' + muscle + '.' + side + '.present"]');
      if (box2) {
        box2.checked = !box2.checked;
        box2.dispatchEvent(new Event("change", { bubbles: true }));
        g.classList.toggle("marked", box2.checked);
      }
    } else if (mode === "sites") {
      document.dispatchEvent(new CustomEvent("bontrack:add-site", { detail: { muscle: muscle, side: side } }));
    }
    if (detail) detail.textContent = describe(g);
    document.querySelectorAll(".muscle.selected").forEach(function (el) { el.classList.remove("selected"); });
    g.classList.add("selected");
  }
  document.addEventListener("click", function (ev) {
    var g = ev.target.closest && ev.target.closest(".muscle");
    if (g) activate(g);
  });
  document.addEventListener("keydown", function (ev) {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.classList && ev.target.classList.contains("muscle")) {
      ev.preventDefault();
      activate(ev.target);
    }
  });
  // The list alternative to the map on the session form: each muscle and side as a button that does
  // what tapping it on the map does. Keyboard users tab through the list (the map's shapes leave the
  // tab order, so the form's fields follow the list); the shapes still answer a click or a tap.
  document.querySelectorAll('[data-bodymap="sites"]').forEach(function (box) {
    var details = document.createElement("details");
    details.className = "muscle-list";
    var summary = document.createElement("summary");
    summary.textContent = "Choose a muscle from a list instead of the map";
    var list = document.createElement("ul");
    var seen = {}, order = {}, shapes = [];
    box.querySelectorAll(".muscle").forEach(function (g) {
      var muscle = g.getAttribute("data-muscle"), key = muscle + "." + g.getAttribute("data-side");
      g.setAttribute("tabindex", "-1");
      if (seen[key]) return;
      seen[key] = true;
      if (!(muscle in order)) order[muscle] = Object.keys(order).length;
      shapes.push(g);
    });
    // each muscle once, as the map lists them, its left side before its right
    shapes.sort(function (a, b) {
      return (order[a.getAttribute("data-muscle")] - order[b.getAttribute("data-muscle")]) ||
        (a.getAttribute("data-side") === "left" ? -1 : 1);
    });
    shapes.forEach(function (g) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary muscle-pick";
      button.setAttribute("data-muscle", g.getAttribute("data-muscle"));
      button.setAttribute("data-side", g.getAttribute("data-side"));
      button.textContent = "Add " + describe(g).split(":")[0];
      button.addEventListener("click", function () { activate(g); });
      item.appendChild(button);
      list.appendChild(item);
    });
    details.appendChild(summary);
    details.appendChild(list);
    box.insertAdjacentElement("afterend", details);
  });
  document.querySelectorAll("[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  // marks already checked trigger points on the assessment form
  document.querySelectorAll('input[name^="tp."][name$=".present"]').forEach(function (input) {
    var parts = input.name.split(".");
    var g = document.querySelector('.muscle[data-muscle="' + parts[1] + '"][data-side="' + parts[2] + '"]');
    if (g) {
      g.classList.toggle("marked", input.checked);
      input.addEventListener("change", function () { g.classList.toggle("marked", input.checked); });
    }
  });
})();
