// dxmaturity: the only script besides htmx. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  var MAX_TRIES = 4;

  // Autosave: retry a failed save (network error or 5xx) with a growing pause, then tell the owner.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-autosave")) return;
    var failedNote = document.getElementById("save-failed");
    var xhr = event.detail.xhr;
    var failed = event.detail.failed && (!xhr || xhr.status === 0 || xhr.status >= 500);
    if (!failed) {
      elt.removeAttribute("data-tries");
      if (failedNote && !document.querySelector("[data-tries]")) failedNote.hidden = true;
      return;
    }
    var tries = parseInt(elt.getAttribute("data-tries") || "0", 10) + 1;
    elt.setAttribute("data-tries", String(tries));
    if (failedNote) failedNote.hidden = false;
    if (tries < MAX_TRIES) {
      setTimeout(function () { htmx.trigger(elt, "change"); }, 500 * Math.pow(2, tries));
    }
  });

  // A multi-choice question's "not applicable" excludes its ticks, and a tick excludes "not applicable".
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.name !== "answer") return;
    var fieldset = input.closest("fieldset");
    if (!fieldset) return;
    var na = fieldset.querySelector("input[data-na]");
    if (!na) return;
    if (input === na && na.checked) {
      fieldset.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = false; });
    } else if (input.type === "checkbox" && input.checked) {
      na.checked = false;
    }
  }, true);
})();
