/* Copy buttons of the Integrations page (gateway/admin/templates/credentials.html).
   navigator.clipboard where the browser allows it (a secure context), else the field's text is
   selected and copied with execCommand, else left selected for Ctrl+C. And the tab stops of the
   scrolling table boxes (.table-scroll): only where the table overflows. One submission per form
   (a double-click on Rotate sent two POSTs, and the answer shown was the second's 409, never the
   token of the first), and no page of a session shown again from the back-forward cache after
   the session may have ended. Everything works without this file. No inline script: the page's
   Content-Security-Policy allows only this file. */
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

  /* A form that posts is sent once: a second submit (a double-click, Enter pressed again) is
     cancelled, and its submit buttons are disabled once the submission is under way (after this
     event, so that a named submitter would still be sent). */
  function oncePerForm(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") {
      return;
    }
    if (form.hasAttribute("data-submitted")) {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented) {
      return;
    }
    form.setAttribute("data-submitted", "");
    window.setTimeout(function () {
      var buttons = form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
      Array.prototype.forEach.call(buttons, function (button) {
        if (!button.disabled) {
          button.disabled = true;
          button.setAttribute("data-disabled-on-submit", "");
        }
      });
    }, 0);
  }

  /* The page is shown again (Back, Forward; from the back-forward cache when event.persisted):
     its forms can be sent again (the submission may have failed), and a page of a session is
     loaded anew from the gateway (hidden meanwhile), which shows the sign-in page if the session
     has ended, in this browser or another. */
  function shownAgain(event) {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-submitted]"), function (form) {
      form.removeAttribute("data-submitted");
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-disabled-on-submit]"), function (button) {
      button.disabled = false;
      button.removeAttribute("data-disabled-on-submit");
    });
    var page = document.body && document.body.getAttribute("data-session-page");
    if (event.persisted && page) {
      document.body.hidden = true;
      window.location.replace(page);
    }
  }

  document.addEventListener("submit", oncePerForm);
  window.addEventListener("pageshow", shownAgain);

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
