// copnet's one script. Every page works without it; it adds two things:
//  1. live updates: when sync brings new content (server-sent events on /live), the parts of the
//     page marked data-live are re-read and replaced, and a polite status message says so;
//  2. the de-identification gate while composing: text in a form marked data-gate is checked
//     as you type, and what could identify someone is listed next to the form.
"use strict";

(function () {
  const status = document.getElementById("live-status");
  const csrf = document.body.dataset.csrf;

  function say(message) {
    if (!status) return;
    status.textContent = message;
    window.clearTimeout(say.timer);
    say.timer = window.setTimeout(function () { status.textContent = ""; }, 6000);
  }

  // ---- live updates ------------------------------------------------------------------------
  let refreshing = false;
  let again = false;
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      const resp = await fetch(window.location.href, {
        credentials: "same-origin",
        // Not the person's activity: an unattended tab still reaches the idle limit.
        headers: { "X-Copnet-Live": "1" },
      });
      // Signed out meanwhile (the answer is the sign-in page), or a page that was a form's answer.
      if (!resp.ok || resp.redirected) return;
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      let changed = false;
      document.querySelectorAll("[data-live][id]").forEach(function (el) {
        const fresh = doc.getElementById(el.id);
        if (fresh && fresh.innerHTML !== el.innerHTML && !el.contains(document.activeElement)) {
          el.innerHTML = fresh.innerHTML;
          changed = true;
        }
      });
      if (changed) say("New content arrived from the federation; this page is up to date.");
    } catch (e) {
      // The node may be restarting; the next event tries again.
    } finally {
      refreshing = false;
      if (again) { again = false; refresh(); }
    }
  }
  if (window.EventSource && document.querySelector("[data-live]")) {
    const source = new EventSource("/live");
    let timer = null;
    source.addEventListener("change", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    });
  }

  // ---- the de-identification gate while composing -------------------------------------------
  const form = document.querySelector("form[data-gate]");
  const panel = document.getElementById("gate");
  if (form && panel && csrf) {
    let timer = null;
    let seq = 0;
    async function check() {
      const mine = ++seq;
      const body = new URLSearchParams(new FormData(form));
      body.set("_csrf", csrf);
      try {
        const resp = await fetch("/consults/check", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: body,
        });
        if (!resp.ok || resp.redirected || mine !== seq) return;
        const html = await resp.text();
        // Only a change is announced again (the panel is a live region).
        if (mine === seq && panel.innerHTML !== html) panel.innerHTML = html;
      } catch (e) {
        // Publishing still runs the gate on the node.
      }
    }
    form.addEventListener("input", function (ev) {
      if (ev.target && ev.target.name === "attest") return;
      window.clearTimeout(timer);
      timer = window.setTimeout(check, 400);
    });
  }
})();
