// A form that comes back with errors starts with a summary of them (core/error_summary.html):
// the focus moves there, so a keyboard or screen reader user hears what to fix and can follow
// its links to each field. On a page load, and after htmx puts in a form someone submitted
// (not after a live refresh or a preview as one types).
(function () {
  "use strict";

  function focusSummary(root) {
    var summary = root.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusSummary(document);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (source instanceof HTMLFormElement && event.detail.requestConfig.verb !== "get") {
      focusSummary(event.detail.target);
    }
  });
})();
