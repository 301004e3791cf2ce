// dxmaturity: the only script besides htmx. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  var MAX_TRIES = 4;

  // Autosave: retry a save that failed (network error or 5xx) with a growing pause, and tell the owner.
  function autosaveElement(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.hasAttribute && elt.hasAttribute("data-autosave") ? elt : null;
  }

  function saveFailed(elt) {
    var note = document.getElementById("save-failed");
    var tries = parseInt(elt.getAttribute("data-tries") || "0", 10) + 1;
    elt.setAttribute("data-tries", String(tries));
    if (note) note.hidden = false;
    if (tries < MAX_TRIES) {
      setTimeout(function () { htmx.trigger(elt, "change"); }, 500 * Math.pow(2, tries));
    }
  }

  // A save that gets no answer within htmx's timeout (15 s) counts as failed: the page's saves queue
  // one after another, so a hung one must not hold up the rest.
  ["htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var elt = autosaveElement(event);
      if (elt) saveFailed(elt);
    });
  });

  document.addEventListener("htmx:responseError", function (event) {
    var elt = autosaveElement(event);
    if (elt && event.detail.xhr && event.detail.xhr.status >= 500) saveFailed(elt);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = autosaveElement(event);
    if (!elt || !event.detail.successful) return;
    elt.removeAttribute("data-tries");
    var note = document.getElementById("save-failed");
    if (note && !document.querySelector("[data-tries]")) note.hidden = true;
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
