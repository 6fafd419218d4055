// JPS Flow console: two small conveniences; every page and form works without this script.
(function () {
  "use strict";
  // "Select all" for the attendance checkboxes.
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box && box.getAttribute && box.getAttribute("data-select-all");
    if (!name) return;
    var form = box.closest("form");
    form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (b) {
      b.checked = box.checked;
    });
  });
  // Ask before an action that cannot be undone (cancelling a group).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
