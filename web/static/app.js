// dxmaturity: the only script besides htmx. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  var MAX_TRIES = 4;

  // Autosave: retry a save that failed (network error or 5xx) with a growing pause, and tell the owner.
  function autosaveElement(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.hasAttribute && elt.hasAttribute("data-autosave") ? elt : null;
  }

  // Saves not answered yet: the page sends them one at a time (hx-sync), so some may wait in htmx's
  // queue, and leaving the page would drop them. A link followed meanwhile is followed once they are
  // all answered (Pico shows the link busy), and closing or reloading the tab asks first.
  var unanswered = 0;  // sent or queued
  var retries = 0;  // failed, to be sent again after a pause
  var leaveTo = null;

  function busy() { return unanswered + retries > 0; }

  function leaveIfDone() {
    if (leaveTo && !busy()) window.location.assign(leaveTo);
  }

  document.addEventListener("change", function (event) {  // each change of an answer is one save
    var target = event.target;
    if (target && target.closest && target.closest("[data-autosave]")) unanswered += 1;
  }, true);

  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || !busy() || event.defaultPrevented || event.button !== 0 || link.target ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    leaveTo = link.href;
    link.setAttribute("aria-busy", "true");
  });

  window.addEventListener("beforeunload", function (event) {
    if (busy() && !leaveTo) event.preventDefault();
  });

  function saveFailed(elt) {
    var note = document.getElementById("save-failed");
    var tries = parseInt(elt.getAttribute("data-tries") || "0", 10) + 1;
    elt.setAttribute("data-tries", String(tries));
    if (note) note.hidden = false;
    if (tries < MAX_TRIES) {
      retries += 1;
      setTimeout(function () { retries -= 1; htmx.trigger(elt, "change"); }, 500 * Math.pow(2, tries));
    } else if (leaveTo) {  // given up: stay, so the owner sees the answer was not saved
      leaveTo = null;
      document.querySelectorAll("a[aria-busy]").forEach(function (a) { a.removeAttribute("aria-busy"); });
    }
  }

  // A save that gets no answer within its timeout (15 s, hx-request on the question) counts as
  // failed: the page's saves queue one after another, so a hung one must not hold up the rest. (If it
  // still lands on the server after a newer answer, the retry sends the answer shown, which wins.)
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
    if (!elt) return;
    unanswered = Math.max(0, unanswered - 1);
    setTimeout(leaveIfDone, 0);  // after sendError, timeout or responseError have scheduled any retry
    if (!event.detail.successful) return;
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

  // Tables of class "cards" read as one card per row on a phone (app.css): each cell is labelled with
  // its column's heading, taken from the table's own header, so no template repeats its headings.
  function labelCells(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("table.cards").forEach(function (table) {
      var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (headings[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", headings[i]);
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { labelCells(document); });
  document.addEventListener("htmx:afterSwap", function (event) { labelCells(event.detail.target.parentNode || document); });
})();
