// The visual analogue scale as a line to mark (templates/_fields.html, question with line=true).
// The page is sent with a number box and words that ask for a number: this script, when it runs,
// shows the line instead and the words that ask to mark it. A range input always holds a value, so
// the answer itself is kept in a hidden field, blank until the patient touches the line (a tap, a
// drag or a key): an untouched line is sent as not answered, never as its middle.
(function () {
  "use strict";
  function said(range, out) {
    var v = Number(range.value);
    var end = v === Number(range.min) ? out.dataset.low : v === Number(range.max) ? out.dataset.high : "";
    return "You marked " + v + " out of " + range.max + (end ? ": " + end : "") + ".";
  }
  function line(box) {
    var typed = box.querySelector("[data-typed] input");
    var range = box.querySelector("input[type=range]");
    var out = box.querySelector(".vas-said");
    var shown = box.querySelector("[data-line]");
    if (!typed || !range || !out || !shown) return;
    var answer = document.createElement("input");
    answer.type = "hidden";
    answer.name = typed.name;
    answer.value = typed.value;
    shown.appendChild(answer);
    box.querySelector("[data-typed]").remove();
    shown.hidden = false;
    function mark() {
      answer.value = range.value;
      range.classList.remove("unset");
      out.textContent = said(range, out);
      range.setAttribute("aria-valuetext", range.value + " out of " + range.max);
    }
    if (answer.value !== "") {
      out.textContent = said(range, out);
      range.setAttribute("aria-valuetext", range.value + " out of " + range.max);
    } else {
      range.setAttribute("aria-valuetext", "not marked yet");
    }
    // a tap on the thumb's own place changes nothing, so "input" alone would miss it
    range.addEventListener("input", mark);
    range.addEventListener("change", mark);
    range.addEventListener("pointerup", mark);
    range.addEventListener("keyup", function (e) {
      if (/^(Arrow|Page|Home|End)/.test(e.key)) mark();
    });
  }
  document.querySelectorAll("[data-vas]").forEach(line);
  // a question marked "not answered yet" by a refused send loses the mark once it is answered
  // (a radio chosen, a number typed, the line marked): the page no longer says what is not so
  document.querySelectorAll("fieldset.question.has-error").forEach(function (q) {
    function answered() {
      q.classList.remove("has-error");
      var said = q.querySelector(".field-error");
      if (said) said.remove();
      q.querySelectorAll("[aria-invalid]").forEach(function (el) {
        el.removeAttribute("aria-invalid");
        var rest = (el.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id && id.indexOf("err-") !== 0;
        });
        if (rest.length) el.setAttribute("aria-describedby", rest.join(" "));
        else el.removeAttribute("aria-describedby");
      });
    }
    q.addEventListener("change", answered);
    q.addEventListener("input", answered);
    q.addEventListener("pointerup", function (e) { if (e.target.type === "range") answered(); });
  });
  // the form's own words about the line, once there is one
  if (document.querySelector("[data-vas] [data-line]:not([hidden])")) {
    document.querySelectorAll("p[data-line]").forEach(function (p) { p.hidden = false; });
  }
})();
