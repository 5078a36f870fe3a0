// A field that applies to one choice of another field only says so on its wrapper:
// data-shown-when="message_type=binary" (the other field's name, then the choice). While
// that choice is not made, the wrapper is hidden and its controls are disabled, so they are
// neither reached by Tab nor sent. Without JavaScript every field shows, and the server
// ignores the ones that do not apply.
(function () {
  "use strict";

  // Controls this script disabled (and only those are enabled again).
  var MARK = "dependsOnDisabled";

  function chosen(form, name) {
    var control = form.elements.namedItem(name);
    // A radio group is a RadioNodeList, whose value is the checked radio's ("" if none).
    return control && "value" in control ? control.value : null;
  }

  function applies(wrapper) {
    var form = wrapper.closest("form");
    var rule = wrapper.dataset.shownWhen;
    var split = rule.indexOf("=");
    if (form === null || split < 0) {
      return true;
    }
    return chosen(form, rule.slice(0, split)) === rule.slice(split + 1);
  }

  function update(root) {
    root.querySelectorAll("[data-shown-when]").forEach(function (wrapper) {
      var shown = applies(wrapper);
      wrapper.hidden = !shown;
      wrapper.querySelectorAll("input, select, textarea, button").forEach(function (control) {
        if (!shown && !control.disabled) {
          control.disabled = true;
          control.dataset[MARK] = "true";
        } else if (shown && control.dataset[MARK] === "true") {
          control.disabled = false;
          delete control.dataset[MARK];
        }
      });
    });
  }

  function onChoice(event) {
    var form = event.target.form;
    if (form instanceof HTMLFormElement && form.querySelector("[data-shown-when]")) {
      update(form);
    }
  }

  // Captured, so a field is enabled before htmx (listening on the form) reads the form for
  // its preview of the same change.
  document.addEventListener("change", onChoice, true);
  document.addEventListener("input", onChoice, true);
  document.addEventListener("DOMContentLoaded", function () {
    update(document);
  });
  // The browser may restore a form's choices after load, or from the back-forward cache.
  window.addEventListener("pageshow", function () {
    update(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    update((event.detail && event.detail.target) || document);
  });
})();
