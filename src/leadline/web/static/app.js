// Leadline's own script (no inline scripts: the Content-Security-Policy allows only /static).
// htmx sends the CSRF token with every request through hx-headers on <body>; forms carry it
// as a hidden csrf_token field. This file adds what htmx does not do by itself.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  window.leadline = { csrf: csrf };

  // Ask before destructive actions: <button data-confirm="Mark as lost?">.
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // A request that failed shows the server's one-line message instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("errors");
    var message = "The request failed (" + event.detail.xhr.status + ")";
    try { message = JSON.parse(event.detail.xhr.responseText).message || message; } catch (e) { /* not JSON */ }
    if (box) { box.textContent = message; box.hidden = false; } else { window.alert(message); }
  });
})();
