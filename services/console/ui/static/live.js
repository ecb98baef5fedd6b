// Live updates for the console. Each element with data-live listens to the
// server-sent events at that address; on a "changed" event it fetches
// data-fragment and puts the HTML the server drew in its place. Without
// JavaScript the pages work the same, refreshed by hand.
"use strict";
(function () {
  function follow(el) {
    var busy = false, again = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      fetch(el.dataset.fragment, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { el.innerHTML = html; el.dataset.refreshed = String(Date.now()); })
        .catch(function () { /* the next event tries again */ })
        .finally(function () { busy = false; if (again) { again = false; refresh(); } });
    }
    function listen() {
      var source = new EventSource(el.dataset.live);
      source.addEventListener("changed", refresh);
      source.addEventListener("open", function () { el.dataset.connected = "true"; });
      source.addEventListener("error", function () {
        el.dataset.connected = "false";
        if (source.readyState !== EventSource.CLOSED) { return; } // the browser retries by itself
        // The server refused the stream: when the session has ended, a
        // reload signs the person in again; otherwise listen again later.
        fetch(el.dataset.fragment, { credentials: "same-origin" }).then(function (r) {
          if (r.status === 401) { window.location.reload(); } else { setTimeout(listen, 5000); }
        }, function () { setTimeout(listen, 5000); });
      });
    }
    listen();
  }
  document.querySelectorAll("[data-live]").forEach(follow);
})();
