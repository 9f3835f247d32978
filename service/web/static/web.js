// Small enhancements only: every page works without this file.
"use strict";
document.addEventListener("click", function (event) {
  var target = event.target;
  if (target instanceof Element && target.closest("[data-action='print']")) {
    window.print();
  }
});

// The season overview reloads itself while a batch is being scored (its progress bars).
if (document.getElementById("batch-progress")) {
  window.setTimeout(function () { window.location.reload(); }, 3000);
}
