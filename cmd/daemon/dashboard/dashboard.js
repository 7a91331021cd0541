// rp's dashboard: the apps, their processes and their logs, from the daemon's own API (the same
// route table as the rp command's). Live: the daemon sends the status as Server-Sent Events
// (/v1/events) whenever it changes, and the ages tick here; logs stream as newline-delimited
// JSON. Every change is a POST with the page's token (X-Rp-Token): the daemon
// refuses changes from any other origin. Text from apps is only ever set as text, never as HTML.
"use strict";

const token = document.querySelector('meta[name="rp-token"]').content;
const $ = (id) => document.getElementById(id);
const MAX_LOG_LINES = 5000;

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function duration(s) {
  if (s == null) return "";
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? (s % 60) + "s" : ""}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

// --- changes ---------------------------------------------------------------------------------

async function control(app, action, process) {
  const note = $("daemon");
  try {
    const r = await fetch(`/v1/apps/${encodeURIComponent(app)}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Rp-Token": token },
      body: JSON.stringify(process ? { process } : {}),
    });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      note.textContent = `${action} ${app}${process ? "/" + process : ""}: ${body.error || r.status}`;
    }
  } catch (e) {
    note.textContent = `${action} ${app}: ${e}`;
  }
}

function buttons(app, process) {
  const who = process ? `${app}/${process}` : app;
  const box = el("span", { class: "buttons" });
  for (const [action, label] of [["start", "Start"], ["stop", "Stop"], ["restart", "Restart"]]) {
    box.append(el("button", { type: "button", "aria-label": `${label} ${who}`,
                              onclick: () => control(app, action, process) }, label));
  }
  box.append(el("button", { type: "button", "aria-label": `Logs of ${who}`,
                            onclick: () => openLogs(app, process) }, "Logs"));
  return box;
}

// --- the apps, kept in place (so focus and selection survive the refreshes) ------------------

const cards = new Map();

function card(app) {
  let c = cards.get(app.name);
  if (c) return c;
  const name = el("a", { class: "name" });
  const state = el("span", { class: "state" });
  const kind = el("span", { class: "muted" });
  const dir = el("div", { class: "muted" });
  const errors = el("ul", { class: "errors" });
  const rows = el("tbody");
  const table = el("table", {},
    el("thead", {}, el("tr", {}, ...["process", "state", "pid", "port", "uptime", "restarts", ""].map(
      (h) => el("th", { scope: "col" }, h)))), rows);
  const root = el("article", { class: "app", "aria-label": app.name },
    el("div", { class: "app-head" }, name, state, kind, buttons(app.name)), dir, errors, table);
  c = { root, name, state, kind, dir, errors, rows, labels: "" };
  cards.set(app.name, c);
  return c;
}

function update(c, app, elapsed) {
  c.name.textContent = app.name;
  c.name.href = app.url;
  c.state.textContent = app.state;
  c.state.className = `state ${app.state}`;
  c.kind.textContent = app.attached ? "attached (rp up)" : app.linked ? "linked" : "";
  c.dir.textContent = app.dir;
  c.errors.replaceChildren(...app.errors.map((e) => el("li", {}, e)));
  const labels = app.processes.map((p) => p.label).join(" ");
  if (labels !== c.labels) {
    c.labels = labels;
    // The controls of a process act on all its instances (web.1, web.2): one row of them each.
    const shown = new Set();
    c.rows.replaceChildren(...app.processes.map((p) => {
      const first = !shown.has(p.process);
      shown.add(p.process);
      return el("tr", { "data-label": p.label },
        el("td", {}, p.label), el("td", {}, el("span", { class: "state" })), el("td"), el("td"),
        el("td"), el("td"), el("td", {}, first ? buttons(app.name, p.process) : ""));
    }));
  }
  app.processes.forEach((p, i) => {
    const cells = c.rows.children[i].children;
    cells[1].firstChild.textContent = p.state;
    cells[1].firstChild.className = `state ${p.state}`;
    cells[2].textContent = p.pid ?? "";
    cells[3].textContent = p.port || "";
    cells[4].textContent = duration(p.uptime_s == null ? null : p.uptime_s + elapsed);
    cells[5].textContent = p.restarts ?? "";
  });
}

// `elapsed`: seconds since the daemon sent `status` (the ages in it grow meanwhile).
function render(status, elapsed) {
  const d = status.daemon;
  const ports = [["HTTP", d.http_port], ["HTTPS", d.https_port], ["DNS", d.dns_port]]
    .map(([kind, port]) => `${kind} ${port || "off"}`).join(" · ");
  $("daemon").textContent = `version ${d.version} · pid ${d.pid} · ${ports}` +
    ` · up ${duration(d.uptime_s + elapsed)} · ${d.home}` + (d.url_hint ? ` · ${d.url_hint}` : "");
  const seen = new Set();
  const list = $("apps");
  status.apps.forEach((app, i) => {
    seen.add(app.name);
    const c = card(app);
    update(c, app, elapsed);
    if (list.children[i] !== c.root) list.insertBefore(c.root, list.children[i] || null);
  });
  for (const [name, c] of cards) {
    if (!seen.has(name)) { c.root.remove(); cards.delete(name); }
  }
  $("no-apps").hidden = status.apps.length > 0;
  $("routes-section").hidden = status.routes.length === 0;
  $("routes").replaceChildren(...status.routes.map((r) =>
    el("li", {}, el("a", { href: r.url }, r.name), ` → port ${r.port}`)));
}

let last = null;  // the status the daemon sent last, and when
function live() {
  const events = new EventSource("/v1/events");
  events.onmessage = (e) => {
    last = { status: JSON.parse(e.data), at: performance.now() };
    render(last.status, 0);
  };
  // The browser connects again by itself (a daemon that restarted has a new token: reload).
  events.onerror = () => { $("daemon").textContent = "the daemon is not answering; trying again"; };
}
setInterval(() => {
  if (last) render(last.status, Math.floor((performance.now() - last.at) / 1000));
}, 1000);

// --- logs ------------------------------------------------------------------------------------

// ANSI SGR sequences as classes (16 colours, bold, italic, underline) and 256/true colours as
// style properties (set through the DOM, which the Content-Security-Policy allows); every other
// escape sequence is dropped.
function ansi(text) {
  const out = document.createDocumentFragment();
  const seq = /\x1b\[([0-9;]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b./g;
  let style = { fg: null, rgb: null, b: false, i: false, u: false };
  let at = 0;
  const emit = (s) => {
    if (!s) return;
    if (style.fg == null && !style.rgb && !style.b && !style.i && !style.u) return out.append(s);
    const span = el("span", { class: [style.fg != null ? `f${style.fg}` : "", style.b ? "a-b" : "",
                                      style.i ? "a-i" : "", style.u ? "a-u" : ""].join(" ").trim() });
    if (style.rgb) span.style.color = style.rgb;
    span.textContent = s;
    out.append(span);
  };
  for (let m; (m = seq.exec(text));) {
    emit(text.slice(at, m.index));
    at = seq.lastIndex;
    if (m[2] !== "m") continue;
    const codes = (m[1] || "0").split(";").map(Number);
    for (let k = 0; k < codes.length; k++) {
      const c = codes[k];
      if (c === 0) style = { fg: null, rgb: null, b: false, i: false, u: false };
      else if (c === 1) style.b = true;
      else if (c === 3) style.i = true;
      else if (c === 4) style.u = true;
      else if (c === 22) style.b = false;
      else if (c === 23) style.i = false;
      else if (c === 24) style.u = false;
      else if (c >= 30 && c <= 37) { style.fg = c - 30; style.rgb = null; }
      else if (c >= 90 && c <= 97) { style.fg = c - 82; style.rgb = null; }
      else if (c === 39) { style.fg = null; style.rgb = null; }
      else if (c === 38 && codes[k + 1] === 5) {
        const n = codes[k + 2]; k += 2;
        if (n < 16) { style.fg = n; style.rgb = null; }
        else if (n < 232) {
          const v = [Math.floor((n - 16) / 36), Math.floor((n - 16) / 6) % 6, (n - 16) % 6]
            .map((x) => (x ? x * 40 + 55 : 0));
          style.rgb = `rgb(${v.join(",")})`;
        } else { const g = (n - 232) * 10 + 8; style.rgb = `rgb(${g},${g},${g})`; }
      } else if (c === 38 && codes[k + 1] === 2) {
        style.rgb = `rgb(${codes[k + 2] | 0},${codes[k + 3] | 0},${codes[k + 4] | 0})`; k += 4;
      }
    }
  }
  emit(text.slice(at));
  return out;
}

const logs = { abort: null, follow: true, pending: [], frame: 0 };

function matches(line) {
  const f = $("log-filter").value.toLowerCase();
  return !f || line.dataset.text.includes(f);
}

function flush() {
  logs.frame = 0;
  const box = $("log");
  const frag = document.createDocumentFragment();
  for (const entry of logs.pending.splice(0)) {
    const line = el("div", { class: entry.source === "http" ? "line http" : entry.source === "rp" ? "line rp" : "line" });
    line.dataset.text = `${entry.source} ${entry.text}`.toLowerCase();
    line.append(el("span", { class: "src" }, `${entry.app ? entry.app + " " : ""}${entry.source} | `), ansi(entry.text));
    if (!matches(line)) line.hidden = true;
    frag.append(line);
  }
  box.append(frag);
  while (box.childElementCount > MAX_LOG_LINES) box.firstElementChild.remove();
  if (logs.follow) box.scrollTop = box.scrollHeight;
}

// Lines are added in batches, at most 20 times a second (a timer rather than an animation frame,
// which a hidden tab never gets).
function show(entry) {
  logs.pending.push(entry);
  if (!logs.frame) logs.frame = setTimeout(flush, 50);
}

async function openLogs(app, process) {
  if (logs.abort) logs.abort.abort();
  const abort = (logs.abort = new AbortController());
  $("logs-section").hidden = false;
  $("logs-title").textContent = `Logs of ${process ? app + "/" + process : app}`;
  $("log").replaceChildren();
  $("log-note").textContent = "";
  const query = new URLSearchParams({ app, n: "500", follow: "1" });
  if (process) query.set("process", process);
  try {
    const r = await fetch(`/v1/logs?${query}`, { signal: abort.signal });
    if (!r.ok) { $("log-note").textContent = `the daemon answered ${r.status}`; return; }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop();
      for (const l of lines) {
        if (!l) continue;
        const m = JSON.parse(l);
        if (m.type === "line") show(m);
      }
    }
    $("log-note").textContent = "the log stream ended";
  } catch (e) {
    if (e.name !== "AbortError") $("log-note").textContent = `log stream: ${e}`;
  }
}

$("log-filter").addEventListener("input", () => {
  for (const line of $("log").children) line.hidden = !matches(line);
});
$("log-follow").addEventListener("click", (e) => {
  logs.follow = !logs.follow;
  e.target.textContent = logs.follow ? "Pause" : "Follow";
  e.target.setAttribute("aria-pressed", String(logs.follow));
  if (logs.follow) $("log").scrollTop = $("log").scrollHeight;
});
$("log-close").addEventListener("click", () => {
  if (logs.abort) logs.abort.abort();
  $("logs-section").hidden = true;
});

// An error page's link to an app's logs: #logs=NAME (or NAME/PROCESS).
const wanted = /^#logs=([^/]+)(?:\/(.+))?$/.exec(decodeURIComponent(location.hash));
if (wanted) openLogs(wanted[1], wanted[2]);

live();
