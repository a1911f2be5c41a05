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
