// "Add a row" under a table of numbered rows (inputs named like x[3].y): the last row is copied,
// numbered on and emptied. Without JavaScript the button stays hidden; the server adds spare rows.
(function () {
  "use strict";
  function renumber(text, index) {
    return text.replace(/\[\d+\]/, "[" + index + "]");
  }
  document.querySelectorAll("button[data-add-row]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var body = document.querySelector(button.getAttribute("data-add-row") + " tbody");
      var index = body.children.length;
      var row = body.lastElementChild.cloneNode(true);
      row.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      row.querySelectorAll("[name]").forEach(function (el) {
        el.name = renumber(el.name, index);
        if (el.id) el.id = renumber(el.id, index);
        var label = el.getAttribute("aria-label");
        if (label) el.setAttribute("aria-label", label.replace(/\d+$/, String(index + 1)));
        el.value = "";
        el.classList.remove("has-error");
        el.removeAttribute("aria-invalid");
      });
      body.appendChild(row);
      row.querySelector("[name]").focus();
    });
  });
})();
