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
  // htmx wires swapped-in content (its hx-post forms) when it settles, 20 ms after the swap by
  // default: a button clicked in between submitted its form as a plain GET (the pop is redrawn
  // whenever its call changes, so that happened). No CSS here uses the settling classes.
  htmx.config.defaultSettleDelay = 0;
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

// The pop is drawn again whenever its call changes (rings, answered, hung up, a draft arrives):
// what the operator has already typed into that same call's ticket form is kept.
let typedInPop = null;

function changedFields(form) {
  const values = {};
  form.querySelectorAll("input, textarea, select").forEach((field) => {
    if (!field.name || field.type === "hidden") return;
    if (field.type === "checkbox") {
      if (field.checked !== field.defaultChecked) values[field.name] = field.checked;
    } else if (field.tagName === "SELECT") {
      const initial = Math.max(0, [...field.options].findIndex((o) => o.defaultSelected));
      if (field.selectedIndex !== initial) values[field.name] = field.value;
    } else if (field.value !== field.defaultValue) {
      values[field.name] = field.value;
    }
  });
  return values;
}

document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.target?.id !== "pop") return;
  const form = document.getElementById("ticket-form");
  const call = document.getElementById("call");
  if (!form || !call) { typedInPop = null; return; }
  // The field being typed in keeps the focus and the caret: typing goes on in the new form.
  const active = document.activeElement;
  const focused = active && form.contains(active) && active.name ? {
    name: active.name,
    start: "selectionStart" in active ? active.selectionStart : null,
    end: "selectionEnd" in active ? active.selectionEnd : null,
  } : null;
  // An error shown above the form (a refused action) stays too, until the next action.
  const error = document.getElementById("form-error")?.innerHTML || "";
  typedInPop = {uniqueid: call.dataset.uniqueid, values: changedFields(form), focused, error};
});

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target?.id !== "pop" || !typedInPop) return;
  const form = document.getElementById("ticket-form");
  const call = document.getElementById("call");
  if (form && call && call.dataset.uniqueid === typedInPop.uniqueid) {
    Object.entries(typedInPop.values).forEach(([name, value]) => {
      const field = form.elements.namedItem(name);
      if (!field) return;
      if (field.type === "checkbox") field.checked = value; else field.value = value;
    });
    const shown = document.getElementById("form-error");
    if (shown && typedInPop.error && !shown.innerHTML.trim()) shown.innerHTML = typedInPop.error;
    const focused = typedInPop.focused;
    const field = focused && form.elements.namedItem(focused.name);
    if (field && typeof field.focus === "function") {
      field.focus();
      if (focused.start !== null && typeof field.setSelectionRange === "function") {
        try { field.setSelectionRange(focused.start, focused.end); } catch (e) { /* not text */ }
      }
    }
  }
  typedInPop = null;
});

// Early warnings (kind "alert", action hot_topic / repeat) arriving on the ticket stream: a
// notice at the top of the warnings panel (partials/warnings.html). The same words as
// hotline/oversight/notices.py notice_text.
function noticeText(action, payload) {
  if (action === "hot_topic") {
    return `预警：热点「${payload.topic ?? ""}」本期 ${payload.now ?? 0} 件（上期 ${payload.before ?? 0} 件）`;
  }
  const key = String(payload.key ?? "");
  const where = key.startsWith("caller:") ? "同一来电人"
    : `同一地点同类事项（${key.slice(key.indexOf(":") + 1)}）`;
  return `预警：重复诉求 ${payload.size ?? 0} 件，${where}`;
}

document.addEventListener("sse-ticket", (event) => {
  const change = event.detail || {};
  if (change.kind !== "alert" || !["hot_topic", "repeat"].includes(change.action)) return;
  const panel = document.getElementById("warnings");
  const list = document.getElementById("warning-list");
  if (!panel || !list) return;
  const item = document.createElement("li");
  item.className = "warning-notice new";
  item.dataset.action = change.action;
  item.textContent = noticeText(change.action, change.payload || {});
  if (change.number) {
    const number = document.createElement("span");
    number.className = "number";
    number.textContent = change.number;
    item.append(" ", number);
  }
  list.prepend(item);
  panel.hidden = false;
});

// The 受理 clock on the pop (seat/pop.html #accept-clock): the time left to make the answered
// call a ticket, counted from the server's deadline (offset by the server's clock when drawn),
// yellow and red like the lights.
function tickAcceptClock() {
  const clock = document.getElementById("accept-clock");
  if (!clock) return;
  if (!clock.dataset.offset) clock.dataset.offset = String(Date.parse(clock.dataset.now) - Date.now());
  const now = Date.now() + Number(clock.dataset.offset);
  const left = Math.floor((Date.parse(clock.dataset.deadline) - now) / 1000);
  const light = left < 0 ? "red" : now >= Date.parse(clock.dataset.yellowAt) ? "yellow" : "green";
  clock.classList.remove("green", "yellow", "red");
  clock.classList.add(light);
  clock.querySelector(".left").textContent = left >= 0 ? `剩余 ${left} 秒` : `已超时 ${-left} 秒`;
}

document.addEventListener("DOMContentLoaded", () => {
  configureHtmx(); openStreams(); setInterval(tickAcceptClock, 1000);
});
