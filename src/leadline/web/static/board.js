// The pipeline board (/board): drag a card to another column (HTML5 drag and drop), or pick a
// stage in the card's "Move to" menu (keyboard, phone). Either way a dialog asks why, and the move
// is posted to /board/move, which calls the same service as `leadline prospects stage` (the reason
// is required there); the board that comes back replaces this one. A refused move puts the card
// back and shows the server's one line; cancelling the dialog puts it back and sends nothing.
(function () {
  "use strict";
  var dragged = null; // {card, list, next}
  // With this script a choice in the Move-to menu moves at once: the Move buttons are for browsers without it.
  document.documentElement.classList.add("js-board");

  function board() { return document.getElementById("board"); }

  function showError(message, link, linkText) {
    var box = document.getElementById("errors");
    var said = document.getElementById("board-status"); // the last move's "moved" line must not stay beside this
    if (said) { said.parentNode.removeChild(said); }
    if (!box) { return; }
    box.textContent = message;
    if (link) {
      var a = document.createElement("a");
      a.href = link;
      a.textContent = linkText || link;
      box.appendChild(document.createTextNode(" "));
      box.appendChild(a);
    }
    box.hidden = false;
  }

  function clearError() {
    var box = document.getElementById("errors");
    if (box) { box.textContent = ""; box.hidden = true; }
  }

  function putBack(origin) {
    if (!origin || !origin.list || !origin.card) { return; }
    if (origin.next && origin.next.parentNode === origin.list) {
      origin.list.insertBefore(origin.card, origin.next);
    } else {
      origin.list.appendChild(origin.card);
    }
    origin.card.classList.remove("is-moving");
    var select = origin.card.querySelector("select.move-to");
    if (select) { select.value = ""; }
  }

  var asking = null; // {id, stage, origin} while the dialog asks why

  function labelOf(stage) {
    var heading = document.getElementById("col-" + stage);
    return heading ? heading.firstChild.textContent.trim() : stage;
  }

  function ask(id, stage, origin) {
    var dialog = document.getElementById("move-dialog");
    if (!dialog || !dialog.showModal) { move(id, stage, origin, ""); return; }
    var name = origin.card.querySelector(".board-card-name");
    document.getElementById("move-dialog-title").textContent =
      "Move " + (name ? name.textContent : id) + " to " + labelOf(stage);
    var input = document.getElementById("move-reason");
    input.value = "";
    asking = { id: id, stage: stage, origin: origin };
    dialog.showModal();
    input.focus();
  }

  function answered(go) {
    var dialog = document.getElementById("move-dialog");
    var pending = asking;
    asking = null;
    if (dialog && dialog.open) { dialog.close(); }
    if (!pending) { return; }
    if (go) {
      move(pending.id, pending.stage, pending.origin, document.getElementById("move-reason").value);
    } else {
      putBack(pending.origin);
    }
  }

  // Undo: the stage move back, with the reason "undo" (no question asked).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("board-undo")) { return; }
    event.preventDefault();
    var id = form.querySelector("[name=prospectId]").value;
    var card = document.getElementById("card-" + id);
    move(id, form.querySelector("[name=stage]").value, card ? originOf(card) : null, "undo");
  });

  document.addEventListener("submit", function (event) {
    if (event.target.id !== "move-dialog-form") { return; }
    event.preventDefault();
    answered(true);
  });
  document.addEventListener("click", function (event) {
    if (event.target.id === "move-cancel") { answered(false); }
  });
  document.addEventListener("close", function (event) { // Escape closes the dialog: nothing moves
    if (event.target.id === "move-dialog") { answered(false); }
  }, true);

  function move(id, stage, origin, reason) {
    clearError();
    if (origin && origin.card) { origin.card.classList.add("is-moving"); }
    var current = board();
    var body = new URLSearchParams(current ? (current.getAttribute("data-query") || "").replace(/^\?/, "") : "");
    body.set("prospectId", id);
    body.set("stage", stage);
    body.set("reason", reason);
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
      var message = "The move failed (" + response.status + "); nothing moved.";
      var link = null, linkText = null;
      try {
        var answer = JSON.parse(result.text);
        message = answer.message || message;
        link = answer.link;
        linkText = answer.linkText;
      } catch (e) { /* not JSON */ }
      putBack(origin);
      showError(message, link, linkText);
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
    ask(origin.card.getAttribute("data-id"), stage, origin);
  });

  // The "Move to" menu: a choice moves at once (the Move button is for browsers without script).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.form && select.form.id === "board-filters") { select.form.submit(); return; }
    if (!select.classList || !select.classList.contains("move-to") || !select.value) { return; }
    var card = select.closest(".board-card");
    if (card) { ask(card.getAttribute("data-id"), select.value, originOf(card)); }
  });
})();
