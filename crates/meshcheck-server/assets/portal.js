// meshcheck portal: small conveniences; every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Filters apply as soon as a select or checkbox changes.
  document.querySelectorAll(".auto-submit").forEach(function (control) {
    control.addEventListener("change", function () {
      if (control.form) {
        control.form.requestSubmit();
      }
    });
  });
});
