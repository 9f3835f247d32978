// Small enhancements only: every page works without this file.
"use strict";
document.addEventListener("click", function (event) {
  var target = event.target;
  if (target instanceof Element && target.closest("[data-action='print']")) {
    window.print();
  }
});
