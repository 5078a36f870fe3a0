// A request the person made (not a background refresh) that takes a while says so: after a
// moment a note counts the seconds and offers to stop waiting, which aborts the request and
// leaves the page as it was. The server gives up by itself at its deadline, with a banner.
(function () {
  "use strict";

  var SHOW_AFTER_MS = 1500;
  var pending = null;

  function note() {
    return document.getElementById("slow-request");
  }

  function clear() {
    if (pending) {
      window.clearInterval(pending.ticker);
      window.clearTimeout(pending.timer);
      pending = null;
    }
    var element = note();
    if (element) {
      element.hidden = true;
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var headers = (event.detail.requestConfig && event.detail.requestConfig.headers) || {};
    if (headers["X-Portal-Background"] === "1" || !note()) {
      return;
    }
    clear();
    var started = Date.now();
    var source = event.detail.elt;
    pending = { source: source, ticker: 0, timer: 0 };
    pending.timer = window.setTimeout(function () {
      var element = note();
      element.hidden = false;
      var seconds = element.querySelector("[data-seconds]");
      var tick = function () {
        seconds.textContent = String(Math.round((Date.now() - started) / 1000));
      };
      tick();
      pending.ticker = window.setInterval(tick, 1000);
    }, SHOW_AFTER_MS);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (pending && pending.source === event.detail.elt) {
      clear();
    }
  });

  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element) || !event.target.closest("[data-stop-waiting]")) {
      return;
    }
    if (pending) {
      var source = pending.source;
      clear();
      window.htmx.trigger(source, "htmx:abort");
    }
  });
})();
