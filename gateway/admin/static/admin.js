/* Copy buttons of the Integrations page (gateway/admin/templates/credentials.html).
   navigator.clipboard where the browser allows it (a secure context), else the field's text is
   selected and copied with execCommand, else left selected for Ctrl+C. And the tab stops of the
   scrolling table boxes (.table-scroll): only where the table overflows. No inline script: the
   page's Content-Security-Policy allows only this file. */
(function () {
  "use strict";

  function say(message) {
    var status = document.getElementById("copy-status");
    if (status) {
      status.textContent = message;
    }
  }

  function selectField(field) {
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
  }

  function fallbackCopy(field, label) {
    selectField(field);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    say(copied ? label + " copied." : label + " is selected: press Ctrl+C (or ⌘C) to copy it.");
  }

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var label = field.labels && field.labels.length ? field.labels[0].textContent : "The text";
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () {
        say(label + " copied.");
      }, function () {
        fallbackCopy(field, label);
      });
    } else {
      fallbackCopy(field, label);
    }
  }

  /* A table box is focusable (tabindex="0" in the page) so that the keyboard can scroll a table
     wider than the window (WCAG 2.1.1); where the table fits, that tab stop leads nowhere, so it
     is taken out of the tab order until the window is narrow enough for the table to overflow. */
  function tabStopsWhereTablesScroll() {
    var boxes = document.querySelectorAll(".table-scroll");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.scrollWidth > box.clientWidth) {
        box.setAttribute("tabindex", "0");
      } else if (document.activeElement !== box) {
        box.removeAttribute("tabindex");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tabStopsWhereTablesScroll();
    window.addEventListener("resize", tabStopsWhereTablesScroll);
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        copy(button);
      });
    });
  });
}());
