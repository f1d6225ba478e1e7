// gatehouse admin: small enhancements only; every page works without this
// file. Loaded from the site's own origin (the Content-Security-Policy
// allows no inline script).
(function () {
  "use strict";

  // Copy buttons: <button data-copy="ID" hidden> copies the value of the
  // element ID to the clipboard and says so in the live region next to it.
  // Without JavaScript the button stays hidden and the value can be
  // selected and copied by hand.
  function status(btn, text) {
    var out = document.getElementById(btn.getAttribute("data-copy-status"));
    if (out) { out.textContent = text; }
  }
  function copied(btn, value) {
    btn.setAttribute("data-copied", value);
    status(btn, "Copied to the clipboard.");
  }
  function fallback(btn, field) {
    // The older API, for a browser without navigator.clipboard.
    field.focus();
    field.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    if (ok) { copied(btn, field.value); } else { status(btn, "Select the text and copy it by hand."); }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    var field = document.getElementById(btn.getAttribute("data-copy"));
    if (!field) { return; }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var value = field.value !== undefined ? field.value : field.textContent;
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(value).then(function () { copied(btn, value); },
          function () { fallback(btn, field); });
      } else {
        fallback(btn, field);
      }
    });
  });

  // "Select all" checkboxes: <input type=checkbox data-select-all="NAME">
  // checks or clears every checkbox named NAME in its form.
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var name = all.getAttribute("data-select-all");
    all.closest("[hidden]") && all.closest("[hidden]").removeAttribute("hidden");
    all.addEventListener("change", function () {
      document.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });

  // A form with errors: move the focus to its summary.
  var errs = document.getElementById("form-errors");
  if (errs) { errs.focus(); }
})();
