// The idle end of a logged-in page's session (base.html loads this on logged-in pages only).
//
// 1. A warning two minutes before the session ends unused, with "Stay logged in" (POST
//    /session/keep: the idle clock starts again). Typing in the page does not reach the server and
//    does not keep the session alive by itself (a person may walk away from a half-typed form): it
//    only makes sure the warning is shown in time (the session is asked about at once when the end
//    is near), so the person who is there presses the button.
// 2. A POST form sent after the session ended: the session is asked about first (GET /login/state,
//    which does not keep it alive); if it ended, a log-in dialog opens in the page (POST
//    /login/renew, the log-in page's rules), and the form goes with the new session's CSRF token:
//    nothing typed is lost. Only the page's own user may log in there. A form sent within a minute
//    of the server last saying the session was live goes at once (no question asked): no idle end
//    falls in that minute, and a person saving a form they just opened waits for nothing.
// Without this script, pages behave as before (the log-in page, "please enter it again").
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "", 10);
  var pageEmail = body.getAttribute("data-user-email") || "";
  if (!idle || !pageEmail || !window.fetch) return;
  var LEAD = 120; // seconds of warning before the end
  var TOUCH = 60; // the server writes a session's last use at most once a minute
  var timer = null;
  var endsAt = Date.now() + (idle - TOUCH) * 1000; // the soonest this page's session may end unused
  var shownWords = "";
  var ended = false;
  var typed = false; // something was typed in the page since it was opened
  var FRESH = 60; // seconds after the server last said the session was live in which a form goes at once
  var liveAt = Date.now(); // when it last said so (the page itself was just served to this session)

  function same(a, b) { return a.trim().toLowerCase() === b.trim().toLowerCase(); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  // ---- the warning --------------------------------------------------------------------------
  var bar = el("section", { "class": "idle-warning", "aria-label": "Session", hidden: "" });
  var said = el("p", { id: "idle-warning-words", "aria-live": "assertive" });
  var keep = el("button", { type: "button", "aria-describedby": "idle-warning-words" }, "Stay logged in");
  var again = el("button", { type: "button", hidden: "" }, "Log in again");
  bar.appendChild(said);
  bar.appendChild(keep);
  bar.appendChild(again);
  body.insertBefore(bar, body.firstChild); // first in the keyboard's order

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function state() {
    return fetch("/login/state", { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); });
  }

  function schedule(seconds) {
    clearTimeout(timer);
    timer = setTimeout(check, Math.max(0, seconds) * 1000);
  }

  function restart(secondsLeft) {
    liveAt = Date.now();
    endsAt = Date.now() + secondsLeft * 1000;
    ended = false;
    bar.hidden = true;
    shownWords = "";
    schedule(secondsLeft - LEAD);
  }

  function words(left, ends) {
    var minutes = Math.ceil(left / 60);
    var when = left < 60 ? "in less than a minute" : minutes === 1 ? "in 1 minute" : "in " + minutes + " minutes";
    if (ends === "lifetime") { // nothing keeps it longer: say so, and what to do
      return "Your session will end " + when + ": it has reached its time limit. " +
        "Save what you are typing; you will be asked to log in again.";
    }
    return "Your session will end " + when + " because it has not been used.";
  }

  function say(text) {
    if (text !== shownWords) { said.textContent = text; shownWords = text; }
  }

  function showEnded() {
    ended = true;
    clearTimeout(timer);
    say(typed ? "Your session has ended. What you typed is still here: saving it will ask you to log in again."
      : "Your session has ended. Log in again to go on.");
    keep.hidden = true;
    again.hidden = false;
    bar.hidden = false;
  }

  function check() {
    state().then(function (s) {
      if (!s.live) { showEnded(); return; }
      liveAt = Date.now();
      endsAt = Date.now() + s.seconds_left * 1000;
      if (s.seconds_left > LEAD + 5) { bar.hidden = true; shownWords = ""; schedule(s.seconds_left - LEAD); return; }
      keep.hidden = s.ends === "lifetime";
      again.hidden = true;
      say(words(s.seconds_left, s.ends));
      var wasHidden = bar.hidden;
      bar.hidden = false;
      if (wasHidden && (document.activeElement === body || !document.activeElement)) keep.focus();
      schedule(Math.min(15, s.seconds_left)); // the words follow the minutes; at the end, "ended"
    }, function () { schedule(60); }); // the server did not answer: ask again in a minute
  }

  keep.addEventListener("click", function () {
    keep.disabled = true;
    fetch("/session/keep", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" },
      credentials: "same-origin",
    }).then(function (r) {
      if (r.status === 401) { showEnded(); return null; }
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (answer) {
      if (answer) restart(answer.seconds_left);
    }, function () {
      say("The server did not answer. Try again in a moment.");
    }).then(function () { keep.disabled = false; });
  });

  again.addEventListener("click", function () { openDialog(null, null); });
  // a page's own script was refused for an ended session (401): the bar says so, with Log in again
  document.addEventListener("bontrack:session-ended", function () { if (!ended) showEnded(); });

  // typing does not keep the session alive; near the end it makes sure the warning is shown
  var lastAsked = 0;
  function nearEnd(event) {
    if (event && event.type === "input") typed = true;
    if (ended || !bar.hidden) return;
    if (Date.now() < endsAt - (LEAD + 30) * 1000 || Date.now() - lastAsked < 10000) return;
    lastAsked = Date.now();
    check();
  }
  document.addEventListener("input", nearEnd, true);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) nearEnd(); });

  schedule((endsAt - Date.now()) / 1000 - LEAD);

  // ---- a form sent after the session ended ----------------------------------------------------
  var dialog = null;
  var pending = null; // { form, submitter } waiting for the log-in
  var loginToken = "";

  function send(form, submitter) {
    form.setAttribute("data-session-checked", "");
    if (form.requestSubmit) form.requestSubmit(submitter || undefined);
    else form.submit();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
    if ((form.getAttribute("method") || "").toLowerCase() !== "post" || form.getAttribute("action") === "/logout") return;
    if (form.hasAttribute("data-session-checked")) { form.removeAttribute("data-session-checked"); return; }
    if (!ended && Date.now() - liveAt < FRESH * 1000) return; // live moments ago: sent as it is
    event.preventDefault();
    if (form.hasAttribute("data-session-asking")) return; // a second press while the first is asked about
    form.setAttribute("data-session-asking", "");
    var submitter = event.submitter || null;
    state().then(function (s) {
      form.removeAttribute("data-session-asking");
      if (s.live) { liveAt = Date.now(); send(form, submitter); return; }
      loginToken = s.login_token || "";
      showEnded();
      openDialog(form, submitter);
    }, function () { // no answer: send as before (the server decides)
      form.removeAttribute("data-session-asking");
      send(form, submitter);
    });
  });

  function buildDialog() {
    var d = el("dialog", { "class": "relogin", "aria-labelledby": "relogin-title", "aria-describedby": "relogin-why" });
    d.appendChild(el("h2", { id: "relogin-title" }, "Your session has ended"));
    d.appendChild(el("p", { id: "relogin-why" }, ""));
    var error = el("p", { "class": "error", role: "alert", hidden: "" });
    d.appendChild(error);
    var f = el("form", { method: "dialog", novalidate: "" });
    f.appendChild(el("label", { "for": "relogin-email" }, "E-mail"));
    f.appendChild(el("input", { id: "relogin-email", name: "email", type: "email", autocomplete: "username" }));
    f.appendChild(el("label", { "for": "relogin-password" }, "Password"));
    f.appendChild(el("input", { id: "relogin-password", name: "password", type: "password", autocomplete: "current-password" }));
    var actions = el("div", { "class": "actions relogin-actions" });
    var go = el("button", { type: "submit" }, "Log in");
    var cancel = el("button", { type: "button", "class": "secondary" }, "Cancel");
    actions.appendChild(go);
    actions.appendChild(cancel);
    f.appendChild(actions);
    d.appendChild(f);
    body.appendChild(d);
    cancel.addEventListener("click", function () { pending = null; d.close(); });
    d.addEventListener("close", function () { pending = null; });
    f.addEventListener("submit", function (event) {
      event.preventDefault();
      logIn(f.elements.email.value, f.elements.password.value, error, go);
    });
    return d;
  }

  function openDialog(form, submitter) {
    if (!dialog) dialog = buildDialog();
    pending = form ? { form: form, submitter: submitter } : null;
    dialog.querySelector("#relogin-why").textContent = form
      ? "What you typed is still here. Log in again as " + pageEmail + " and it is saved as you asked."
      : (typed ? "What you typed is still here. " : "") + "Log in again as " + pageEmail + " to go on.";
    dialog.querySelector("button[type=submit]").textContent = form ? "Log in and save" : "Log in";
    var error = dialog.querySelector(".error");
    error.hidden = true;
    error.textContent = "";
    var email = dialog.querySelector("#relogin-email");
    email.value = pageEmail;
    dialog.querySelector("#relogin-password").value = "";
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("#relogin-password").focus();
  }

  function refuse(error, text) {
    error.textContent = text;
    error.hidden = false;
  }

  function logIn(email, password, error, go) {
    error.hidden = true;
    if (!same(email, pageEmail)) {
      refuse(error, "This page was filled in by " + pageEmail + ". Log in as " + pageEmail + " to send it. " +
        "To log in as someone else, open the log-in page: what was typed here is then not sent.");
      return;
    }
    if (!password) { refuse(error, "Enter your password."); return; }
    go.disabled = true;
    var token = loginToken ? Promise.resolve(loginToken) : state().then(function (s) {
      if (s.live) return "";
      return s.login_token || "";
    });
    token.then(function (t) {
      if (!t) { // the session is live again (logged in in another tab): the page's token may be old
        return { ok: false, live: true };
      }
      return fetch("/login/renew", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": t },
        credentials: "same-origin",
        body: JSON.stringify({ email: email, password: password, page_email: pageEmail }),
      }).then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; },
          function () { return { ok: r.ok, status: r.status, body: {} }; });
      });
    }).then(function (answer) {
      if (answer.live) {
        refuse(error, "You are logged in again in another window. Reload this page to go on; copy what you typed first.");
        return;
      }
      if (!answer.ok) {
        if (answer.status === 403) loginToken = ""; // a new log-in form token next time
        refuse(error, answer.status === 422 ? "Enter your e-mail and password." :
          (answer.body && answer.body.detail) || "The log-in did not work. Try again.");
        return;
      }
      renewed(answer.body.csrf_token);
    }, function () {
      refuse(error, "The server did not answer. Try again in a moment.");
    }).then(function () { go.disabled = false; });
  }

  function renewed(token) {
    loginToken = "";
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) meta.setAttribute("content", token);
    document.querySelectorAll('input[name="csrf_token"]').forEach(function (input) { input.value = token; });
    var waiting = pending;
    pending = null;
    dialog.close();
    restart(idle);
    document.dispatchEvent(new CustomEvent("bontrack:session-renewed")); // the page's scripts may ask again
    if (waiting) send(waiting.form, waiting.submitter);
  }
})();
