/* Assistant Architect — small progressive enhancements. No dependencies, no inline
   handlers, no eval (CSP: script-src 'self'). Every page still works without this file. */
(function () {
  'use strict';

  // (1) CSRF: every htmx request carries the token from <meta name="csrf-token">.
  document.addEventListener('htmx:configRequest', function (event) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    const token = meta && meta.getAttribute('content');
    if (token) event.detail.headers['X-CSRFToken'] = token;
  });

  // (2) Copy buttons: <button data-copy-target="#id" hidden>Copy</button>.
  // Rendered hidden so they never show without JS; revealed here (also in htmx swaps).
  function revealCopyButtons(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll('[data-copy-target][hidden]').forEach(function (el) { el.hidden = false; });
  }
  if (document.readyState !== 'loading') revealCopyButtons(document);
  else document.addEventListener('DOMContentLoaded', function () { revealCopyButtons(document); });
  document.addEventListener('htmx:load', function (event) { revealCopyButtons(event.target); });

  function copyWithTextarea(text) {
    const active = document.activeElement;
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'visually-hidden';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (active && active.focus) active.focus();
    return ok ? Promise.resolve() : Promise.reject(new Error('copy failed'));
  }

  // navigator.clipboard needs https (or localhost); a school LAN on plain http gets the fallback.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return copyWithTextarea(text); });
    }
    try { return copyWithTextarea(text); } catch (err) { return Promise.reject(err); }
  }

  // The label is [data-copy-label] if present, else the button's last text node (keeps icons).
  function labelNode(button) {
    const marked = button.querySelector('[data-copy-label]');
    if (marked) return marked;
    const texts = Array.from(button.childNodes).filter(function (n) {
      return n.nodeType === Node.TEXT_NODE && n.nodeValue.trim() !== '';
    });
    return texts.length ? texts[texts.length - 1] : button;
  }

  function flashLabel(button, message) {
    const node = labelNode(button);
    const prop = node.nodeType === Node.TEXT_NODE ? 'nodeValue' : 'textContent';
    if (button.dataset.copyOriginal === undefined) button.dataset.copyOriginal = node[prop];
    node[prop] = message;
    clearTimeout(Number(button.dataset.copyTimer));
    button.dataset.copyTimer = String(setTimeout(function () {
      node[prop] = button.dataset.copyOriginal;
      delete button.dataset.copyOriginal;
    }, 2000));
  }

  document.addEventListener('click', function (event) {
    const button = event.target.closest('[data-copy-target]');
    if (!button) return;
    event.preventDefault();
    const source = document.querySelector(button.getAttribute('data-copy-target'));
    if (!source) return;
    const isField = source instanceof HTMLInputElement || source instanceof HTMLTextAreaElement;
    copyText(isField ? source.value : source.innerText).then(
      function () { flashLabel(button, 'Copied'); },
      function () { flashLabel(button, 'Copy failed'); }
    );
  });

  // (3) data-confirm="message". Plain and htmx form submits are checked here, in the
  // capture phase, so htmx never sees a cancelled submit; other htmx requests below.
  document.addEventListener('submit', function (event) {
    const form = event.target;
    const submitter = event.submitter;
    const message = (submitter && submitter.getAttribute('data-confirm')) ||
      form.getAttribute('data-confirm');
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener('htmx:confirm', function (event) {
    const detail = event.detail;
    if (detail.triggeringEvent && detail.triggeringEvent.type === 'submit') return;
    const message = detail.elt.getAttribute('data-confirm');
    if (!message) return;
    event.preventDefault();
    if (window.confirm(message)) detail.issueRequest(true);
  });

  // (4) Small-screen nav: button.site-nav__toggle[aria-controls="site-nav"][aria-expanded].
  function setNavOpen(toggle, open) {
    const nav = document.getElementById(toggle.getAttribute('aria-controls') || 'site-nav');
    if (!nav) return;
    toggle.setAttribute('aria-expanded', String(open));
    nav.setAttribute('data-open', String(open));
  }

  document.addEventListener('click', function (event) {
    const toggle = event.target.closest('.site-nav__toggle');
    if (toggle) setNavOpen(toggle, toggle.getAttribute('aria-expanded') !== 'true');
  });

  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return;
    const toggle = document.querySelector('.site-nav__toggle[aria-expanded="true"]');
    if (toggle && toggle.offsetParent !== null) {
      setNavOpen(toggle, false);
      toggle.focus();
    }
  });
}());
