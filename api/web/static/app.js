// Small enhancements; every page works without them.
(function () {
  "use strict";
  // The language menu sends itself once a language is picked.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  document.querySelectorAll("[data-back]").forEach(function (link) {
    link.addEventListener("click", function (event) { event.preventDefault(); history.back(); });
  });
  // The work queue: j / k move through the rows, Enter opens the selected case.
  var list = document.querySelector("[data-keyboard-list] tbody");
  if (!list) { return; }
  var rows = Array.prototype.slice.call(list.querySelectorAll("tr[data-href]"));
  var at = -1;
  function select(index) {
    if (!rows.length) { return; }
    at = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("selected", i === at); });
    rows[at].setAttribute("tabindex", "-1");
    rows[at].focus();
  }
  document.addEventListener("keydown", function (event) {
    var typing = /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(document.activeElement.tagName);
    if (typing || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "j") { select(at + 1); event.preventDefault(); }
    else if (event.key === "k") { select(at - 1); event.preventDefault(); }
    else if (event.key === "Enter" && at >= 0) { window.location.href = rows[at].dataset.href; }
  });
})();
