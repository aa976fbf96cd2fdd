// The kiosk's page (docs/kiosk.md): it asks the portal, every second, since when the card on
// screen was presented, and reloads when that changed: a card presented at the reader shows
// its balance, and the balance leaves the screen when its seconds are over. The page works
// without this file: the code form, and a refresh back to the waiting screen (noscript).
(function () {
  "use strict";
  var root = document.querySelector("[data-kiosk]");
  if (!root || !window.fetch) {
    return;
  }
  var since = root.getAttribute("data-since") || "";
  var busy = false;

  function poll() {
    if (busy) {
      return;
    }
    busy = true;
    fetch("/kiosk/state.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        return answer.ok ? answer.json() : null;
      })
      .then(function (state) {
        if (state && (state.since || "") !== since) {
          window.location.replace("/kiosk");
        }
      })
      .catch(function () {
        // the portal unreachable for a moment: the next poll tries again
      })
      .then(function () {
        busy = false;
      });
  }

  window.setInterval(poll, 1000);
})();
