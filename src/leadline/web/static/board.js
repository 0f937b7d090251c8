// The pipeline board (/board): drag a card to another column (HTML5 drag and drop), or pick a
// stage in the card's "Move to" menu (keyboard, phone). Either way the move is posted to
// /board/move, which calls the same service as `leadline prospects stage`; the board that comes
// back replaces this one. A refused move puts the card back and shows the server's one line.
(function () {
  "use strict";
  var dragged = null; // {card, list, next}
  // With this script a choice in the Move-to menu moves at once: the Move buttons are for browsers without it.
  document.documentElement.classList.add("js-board");

  function board() { return document.getElementById("board"); }

  function showError(message) {
    var box = document.getElementById("errors");
    if (box) { box.textContent = message; box.hidden = false; box.focus && box.focus(); }
  }

  function clearError() {
    var box = document.getElementById("errors");
    if (box) { box.textContent = ""; box.hidden = true; }
  }

  function putBack(origin) {
    if (!origin || !origin.list) { return; }
    if (origin.next && origin.next.parentNode === origin.list) {
      origin.list.insertBefore(origin.card, origin.next);
    } else {
      origin.list.appendChild(origin.card);
    }
    origin.card.classList.remove("is-moving");
    var select = origin.card.querySelector("select.move-to");
    if (select) { select.value = ""; }
  }

  function move(id, stage, origin) {
    clearError();
    origin.card.classList.add("is-moving");
    var body = new URLSearchParams();
    body.set("prospectId", id);
    body.set("stage", stage);
    fetch("/board/move", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRF-Token": window.leadline ? window.leadline.csrf() : "",
        "X-Leadline-Fragment": "1",
        "HX-Request": "true", // an ended session then answers 401 with HX-Redirect, not the sign-in page
        "Content-Type": "application/x-www-form-urlencoded"
      },
      body: body.toString()
    }).then(function (response) {
      return response.text().then(function (text) { return { response: response, text: text }; });
    }).then(function (result) {
      var response = result.response;
      if (response.ok) {
        var current = board();
        if (current) { current.outerHTML = result.text; }
        return;
      }
      if (response.status === 401 && response.headers.get("HX-Redirect")) {
        // The session ended: sign in again, then come back to the board.
        window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
        return;
      }
      var message = "The move failed (" + response.status + ")";
      try { message = JSON.parse(result.text).message || message; } catch (e) { /* not JSON */ }
      putBack(origin);
      showError(message);
    }).catch(function () {
      putBack(origin);
      showError("The server could not be reached; nothing was moved.");
    });
  }

  function originOf(card) {
    return { card: card, list: card.parentNode, next: card.nextElementSibling };
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card[draggable='true']") : null;
    if (!card) { return; }
    dragged = originOf(card);
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
  });

  document.addEventListener("dragend", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card") : null;
    if (card) { card.classList.remove("is-dragging"); }
    var marked = document.querySelectorAll(".board-col.is-over");
    for (var i = 0; i < marked.length; i++) { marked[i].classList.remove("is-over"); }
  });

  function columnAt(event) {
    return event.target.closest ? event.target.closest(".board-col") : null;
  }

  document.addEventListener("dragover", function (event) {
    var column = columnAt(event);
    if (!column || !dragged) { return; }
    event.preventDefault(); // allow the drop
    event.dataTransfer.dropEffect = "move";
    column.classList.add("is-over");
  });

  document.addEventListener("dragleave", function (event) {
    var column = columnAt(event);
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("is-over"); }
  });

  document.addEventListener("drop", function (event) {
    var column = columnAt(event);
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.remove("is-over");
    var origin = dragged;
    dragged = null;
    var stage = column.getAttribute("data-stage");
    if (stage === origin.card.getAttribute("data-stage")) { return; }
    var list = column.querySelector(".board-cards");
    if (list) { list.insertBefore(origin.card, list.firstChild); } // where it will be, until the server says no
    move(origin.card.getAttribute("data-id"), stage, origin);
  });

  // The "Move to" menu: a choice moves at once (the Move button is for browsers without script).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.classList || !select.classList.contains("move-to") || !select.value) { return; }
    var card = select.closest(".board-card");
    if (card) { move(card.getAttribute("data-id"), select.value, originOf(card)); }
  });
})();
