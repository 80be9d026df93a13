// ClaimFlow review workstation: link each field row to its boxes on the page images (no framework, no network).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  function mark(name, on) {
    document.querySelectorAll('[data-field="' + CSS.escape(name) + '"]').forEach(function (el) {
      el.classList.toggle("active", on);
    });
  }
  document.querySelectorAll("table.fields tr[data-field], rect.box[data-field]").forEach(function (el) {
    var name = el.getAttribute("data-field");
    el.addEventListener("mouseenter", function () { mark(name, true); });
    el.addEventListener("mouseleave", function () { mark(name, false); });
    el.addEventListener("focusin", function () { mark(name, true); });
    el.addEventListener("focusout", function () { mark(name, false); });
  });
  var reject = document.getElementById("reject-form");
  if (reject) {
    reject.addEventListener("submit", function (event) {
      if (!window.confirm("Reject this claim? The claimant will be told.")) { event.preventDefault(); }
    });
  }
});
