// The proposal page's one script (optional: the page works without it). It tells Leadline how long the
// page stayed open, by a beacon to this same site when the page is hidden or left; nothing else.
(function () {
  "use strict";
  var holder = document.querySelector("[data-beacon]");
  if (!holder || !navigator.sendBeacon) { return; }
  var url = holder.getAttribute("data-beacon");
  var shown = 0;
  var since = document.visibilityState === "visible" ? Date.now() : null;
  function report() {
    if (since !== null) { shown += Date.now() - since; since = null; }
    navigator.sendBeacon(url, new Blob([String(Math.round(shown / 1000))], { type: "text/plain" }));
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { report(); } else { since = Date.now(); }
  });
  window.addEventListener("pagehide", report);
})();
