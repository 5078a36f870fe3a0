// On a phone, a list's filter form folds away under its summary, so the results come first;
// the chips above it say which filters are in use. Wider screens, and pages without
// JavaScript, keep it open. A form sent back with an error stays open, to be fixed.
(function () {
  "use strict";

  var phone = window.matchMedia("(max-width: 48rem)");

  function fold(root) {
    if (!phone.matches) {
      return;
    }
    root.querySelectorAll("details[data-fold-on-phone]").forEach(function (details) {
      if (!details.querySelector("[aria-invalid=true]")) {
        details.open = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fold(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    fold((event.detail && event.detail.target) || document);
  });
})();
