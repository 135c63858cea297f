/* Assistant Architect — the builder's variable palette: "Insert" puts a variable at the cursor
   of the prompt text being edited. Progressive enhancement: without this file the palette is
   text to copy, and live lint still runs through htmx. No inline handlers (CSP). */
(function () {
  'use strict';

  let lastTarget = null; // the [data-palette-target] textarea the author last worked in

  function revealInsertButtons(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll('[data-insert][hidden]').forEach(function (el) { el.hidden = false; });
  }
  if (document.readyState !== 'loading') revealInsertButtons(document);
  else document.addEventListener('DOMContentLoaded', function () { revealInsertButtons(document); });
  document.addEventListener('htmx:load', function (event) { revealInsertButtons(event.target); });

  document.addEventListener('focusin', function (event) {
    if (event.target.matches && event.target.matches('textarea[data-palette-target]')) {
      lastTarget = event.target;
    }
  });

  function targetFor(button) {
    const form = button.closest('form');
    if (lastTarget && document.contains(lastTarget) && (!form || form.contains(lastTarget))) {
      return lastTarget;
    }
    const scope = form || document;
    return scope.querySelector('textarea[name="content"][data-palette-target]') ||
      scope.querySelector('textarea[data-palette-target]');
  }

  document.addEventListener('click', function (event) {
    const button = event.target.closest('[data-insert]');
    if (!button) return;
    event.preventDefault();
    const area = targetFor(button);
    if (!area) return;
    const text = button.getAttribute('data-insert');
    const start = area.selectionStart ?? area.value.length;
    const end = area.selectionEnd ?? start;
    area.focus();
    area.setRangeText(text, start, end, 'end');
    // Tell htmx (live lint, trigger "keyup changed") and anything else listening.
    area.dispatchEvent(new Event('input', { bubbles: true }));
    area.dispatchEvent(new KeyboardEvent('keyup', { bubbles: true }));
  });
}());
