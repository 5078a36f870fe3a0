// Forms marked data-submit-once are sent once: the second press of a submit button (a double
// click, an impatient Enter) does nothing while the first request is on its way, and the
// buttons say so. The server refuses a repeated submission anyway (its one-time key); this
// only spares the person a confusing second answer. A page restored from the back-forward
// cache gets its buttons back.
(function () {
  "use strict";

  function release(form) {
    delete form.dataset.submitting;
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) {
      return;
    }
    if (form.dataset.submitting === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "true";
    // After the browser has taken the form's data (a disabled button's would be left out).
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      });
    }, 0);
  });

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      document.querySelectorAll("form[data-submit-once]").forEach(release);
    }
  });
})();
