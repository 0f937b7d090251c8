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

  // The phone menu: a real button that says whether the menu is open (the checkbox is the no-JS way).
  document.documentElement.classList.add("js");
  var menu = document.querySelector(".nav-button");
  if (menu) {
    menu.hidden = false;
    menu.addEventListener("click", function () {
      var open = menu.getAttribute("aria-expanded") !== "true";
      menu.setAttribute("aria-expanded", open ? "true" : "false");
      document.getElementById(menu.getAttribute("aria-controls")).classList.toggle("is-open", open);
    });
  }

  // Ask before destructive actions: <button data-confirm="Mark as lost?">.
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // "/" anywhere but in a text field goes to the search box; Escape there closes its results.
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("site-search");
    if (!box) { return; }
    var typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "Escape" && event.target === box) {
      document.getElementById("search-results").innerHTML = "";
    }
  });

  // The prospects list: a header checkbox ticks (or clears) every row of the page for the bulk form.
  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("[data-select-page]")) { return; }
    document.querySelectorAll('input[name="ids"][form="bulk-form"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  });

  // A list's filter field left for a link (the mouse pressed on one) does not filter: the user is
  // going to that link's page, and the filter's answer, swapping the results under the pointer and
  // changing the address, could cancel it. A field that filters as it is typed
  // (data-filters-as-typed) never filters again when it loses focus: it has already.
  var pressedLink = false;
  document.addEventListener("mousedown", function (event) {
    pressedLink = event.button === 0 && !!(event.target.closest && event.target.closest("a[href]"));
  }, true);
  document.addEventListener("mouseup", function () {
    window.setTimeout(function () { pressedLink = false; }, 0);
  }, true);
  ["keydown", "dragend"].forEach(function (name) {  // a press dragged off the page has no mouseup here
    document.addEventListener(name, function () { pressedLink = false; }, true);
  });
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!field.matches || !field.form || !field.form.hasAttribute("hx-get")) { return; }
    if (field.matches("[data-filters-as-typed]") || (pressedLink && field.matches("input:not([type=checkbox]):not([type=radio])"))) {
      event.stopPropagation();
    }
  }, true);

  // "Save this view" keeps the list as it is now (htmx changes the address as filters change).
  document.addEventListener("submit", function (event) {
    var box = event.target.closest ? event.target.closest(".save-view") : null;
    var query = box ? box.querySelector('input[name="query"]') : null;
    if (query) { query.value = window.location.search.replace(/^\?/, ""); }
  }, true);

  // htmx brings a page back (Back, Forward) as it kept it, and it keeps it when the next filter is
  // already chosen: Back showed menus that were not the address's ("any", or the next filter) over
  // the address's table. A filter form shows what its address says.
  document.addEventListener("htmx:historyRestore", function () {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll('form[method="get"]').forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (control) {
        if (!control.name || /^(submit|button|hidden|reset)$/.test(control.type)) { return; }
        var value = params.get(control.name);
        if (control.type === "checkbox" || control.type === "radio") {
          control.checked = value !== null && value === control.value;
        } else if (value !== null) {
          control.value = value;
        } else if (control.tagName !== "SELECT" || control.querySelector('option[value=""]')) {
          control.value = "";
        }
      });
    });
  });

  // A filter chosen and then its button pressed is one step back, not two of the same address.
  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var history = event.detail && event.detail.history;
    if (history && history.type === "push" && history.path === window.location.pathname + window.location.search) {
      history.type = "replace";
    }
  });

  // A request that failed shows the server's one-line message instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("errors");
    var message = "The request failed (" + event.detail.xhr.status + ")";
    try { message = JSON.parse(event.detail.xhr.responseText).message || message; } catch (e) { /* not JSON */ }
    if (box) { box.textContent = message; box.hidden = false; } else { window.alert(message); }
  });
})();
