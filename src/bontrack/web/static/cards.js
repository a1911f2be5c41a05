// Tables as cards on a phone (style.css, below 40rem): each cell of a table.list is labelled with its
// column's header (data-label), unless the template set one. The table keeps its roles for screen
// readers, which some browsers drop from a table whose display is changed.
(function () {
  "use strict";
  function label(table) {
    if (table.matches(".grid, .tp-grid")) return;
    var heads = table.tHead ? table.tHead.rows[0] : null;
    if (!heads) return;
    var names = [];
    Array.prototype.forEach.call(heads.cells, function (th) {
      for (var n = 0; n < (th.colSpan || 1); n++) names.push(th.textContent.trim());
    });
    table.setAttribute("role", "table");
    table.tHead.setAttribute("role", "rowgroup");
    heads.setAttribute("role", "row");
    Array.prototype.forEach.call(heads.cells, function (th) { th.setAttribute("role", "columnheader"); });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      body.setAttribute("role", "rowgroup");
      Array.prototype.forEach.call(body.rows, function (tr) {
        tr.setAttribute("role", "row");
        var col = 0;
        Array.prototype.forEach.call(tr.cells, function (cell) {
          cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
          if (cell.tagName === "TD" && !cell.hasAttribute("data-label") && names[col]) {
            cell.setAttribute("data-label", names[col]);
          }
          col += cell.colSpan || 1;
        });
      });
    });
  }
  document.querySelectorAll("table.list").forEach(label);
  // A region that scrolls sideways (a wide grid, a plot on a phone) can be scrolled with the arrow
  // keys once focused; it is named after its section's heading.
  function scrollable(box) {
    var wide = box.scrollWidth > box.clientWidth + 1;
    if (wide && !box.hasAttribute("tabindex")) {
      var section = box.closest("section, fieldset, main");
      var heading = section ? section.querySelector("h1, h2, h3, legend") : null;
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", (heading ? heading.textContent.trim() + ": " : "") + "scrolls sideways");
      box.setAttribute("data-scroll-region", "");
    } else if (!wide && box.hasAttribute("data-scroll-region")) {
      ["tabindex", "role", "aria-label", "data-scroll-region"].forEach(function (a) { box.removeAttribute(a); });
    }
  }
  function regions() { document.querySelectorAll(".scroll-x, .trend-wrap").forEach(scrollable); }
  regions();
  window.addEventListener("resize", regions);
})();
