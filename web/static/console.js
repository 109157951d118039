// The console's small glue: server-sent event streams turned into DOM events for htmx,
// htmx answering errors in place, keyboard shortcuts. No build step.
"use strict";

// <main data-sse="/api/ticket-changes/stream /seat/pop/stream">: each stream's named events
// become "sse-<name>" events on <body> (detail: the parsed data), e.g.
// hx-trigger="sse-ticket from:body" or "sse-pop from:body".
function openStreams() {
  document.querySelectorAll("[data-sse]").forEach((element) => {
    element.dataset.sse.split(/\s+/).filter(Boolean).forEach((url) => {
      const source = new EventSource(url);
      ["ticket", "pop", "seat"].forEach((name) => {
        source.addEventListener(name, (event) => {
          let detail = {};
          try { detail = JSON.parse(event.data); } catch (e) { detail = {raw: event.data}; }
          document.body.dispatchEvent(new CustomEvent("sse-" + name, {detail}));
        });
      });
      source.addEventListener("open", () => document.body.classList.add("live"));
      source.addEventListener("error", () => document.body.classList.remove("live"));
    });
  });
}

// Errors (4xx) are swapped in where the answer would go: they carry the message to show.
function configureHtmx() {
  if (!window.htmx) return;
  htmx.config.responseHandling = [
    {code: "204", swap: false},
    {code: "[23]..", swap: true},
    {code: "4..", swap: true, error: false},
    {code: "...", swap: false, error: true},
  ];
}

// data-key="F2" on a button or link: that key clicks it. Shortcuts fire even while typing
// when they are function keys or Alt+letter.
function keyName(event) {
  let name = event.key.length === 1 ? event.key.toUpperCase() : event.key;
  if (event.altKey) name = "Alt+" + name;
  return name;
}

document.addEventListener("keydown", (event) => {
  const name = keyName(event);
  const typing = /INPUT|TEXTAREA|SELECT/.test(document.activeElement?.tagName || "");
  if (typing && !(name.startsWith("F") && name.length <= 3) && !name.startsWith("Alt+")) return;
  const target = document.querySelector(`[data-key="${name}"]:not([disabled])`);
  if (target) {
    event.preventDefault();
    if (target.matches("input, textarea, select")) target.focus(); else target.click();
  }
});

document.addEventListener("DOMContentLoaded", () => { configureHtmx(); openStreams(); });
