// dxmaturity: a checklist's exclusive answer ("none of these", data-exclusive) unticks the other
// boxes when ticked, and ticking another box unticks it. The server refuses the mix anyway; this
// only saves the owner a refusal. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  // in the capture phase, so the boxes are right before htmx reads the question to save it
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.type !== "checkbox" || !input.checked || !input.closest) return;
    var group = input.closest("fieldset");
    if (!group || !group.querySelector("input[data-exclusive]")) return;
    var exclusive = input.hasAttribute("data-exclusive");
    group.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (box !== input && (exclusive || box.hasAttribute("data-exclusive"))) box.checked = false;
    });
  }, true);
})();
