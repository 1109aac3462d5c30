// DOM and data helpers. Every piece of dataset text enters the page as a text node
// (textContent / createTextNode); no HTML-parsing sink is used anywhere, so no sample can
// become markup.
"use strict";

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "style") Object.assign(node.style, v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function clear(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
  return node;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch("/api/" + path, init);
  if (!res.ok) {
    let msg = res.status + " " + res.statusText;
    try { const j = await res.json(); msg = [j.problem || j.detail, j.fix].filter(Boolean).join(" — "); } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return res;
}
const getJSON = async (path) => (await api(path)).json();
const postJSON = async (path, body) => (await api(path, body)).json();
const getBinary = async (path) => (await api(path)).arrayBuffer();

function fmt(v, digits = 3) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

function q(params) { return new URLSearchParams(params).toString(); }

// A table from records; `onRow(record)` makes rows clickable, `onSort(column)` headers.
function table(records, columns, { onRow, onSort, sortedBy } = {}) {
  const cols = columns || (records.length ? Object.keys(records[0]) : []);
  const head = el("tr", {}, cols.map((c) => el("th", {
    text: c + (sortedBy && sortedBy.column === c ? (sortedBy.descending ? " ▼" : " ▲") : ""),
    onclick: onSort ? () => onSort(c) : undefined })));
  const rows = records.map((r) => el("tr", { class: onRow ? "clickable" : "", onclick: onRow ? () => onRow(r) : undefined },
    cols.map((c) => el("td", { class: typeof r[c] === "number" ? "num" : "", text: fmt(r[c]) }))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, rows));
}

const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#aec7e8", "#ff7f0e", "#98df8a", "#d62728",
  "#9467bd", "#c5b0d5", "#8c564b", "#e377c2", "#17becf"];
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

function hexRGB(hex) { const v = parseInt(hex.slice(1), 16); return [v >> 16, (v >> 8) & 255, v & 255]; }
function ramp(t) {
  t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i;
  return VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
}

// Word heatmap: the text with each attributed word's background set from its score
// (blue: pushes towards the target, red: against), score in the title. Text nodes only.
function heatmap(text, spans, scores, segment) {
  const max = Math.max(1e-12, ...scores.map(Math.abs));
  const items = spans.map((s, i) => ({ seg: s[0], start: s[1], end: s[2], score: scores[i] }))
    .filter((w) => segment === undefined || w.seg === segment).sort((a, b) => a.start - b.start);
  const out = el("div", { class: "text-block heat" });
  let at = 0;
  for (const w of items) {
    if (w.start < at) continue;
    if (w.start > at) out.appendChild(document.createTextNode(text.slice(at, w.start)));
    const a = Math.min(1, Math.abs(w.score) / max) * 0.85;
    const span = el("span", { class: "w", title: w.score.toFixed(4), text: text.slice(w.start, w.end) });
    span.style.background = w.score >= 0 ? `rgba(47,111,214,${a})` : `rgba(214,69,69,${a})`;
    out.appendChild(span);
    at = w.end;
  }
  if (at < text.length) out.appendChild(document.createTextNode(text.slice(at)));
  return out;
}

// Words with scores but no character spans (corpus explanations): joined by spaces.
function wordHeatmap(words) {
  const max = Math.max(1e-12, ...words.map((w) => Math.abs(w[1])));
  const out = el("div", { class: "text-block heat" });
  words.forEach(([word, score], i) => {
    if (i) out.appendChild(document.createTextNode(" "));
    const a = Math.min(1, Math.abs(score) / max) * 0.85;
    const span = el("span", { class: "w", title: score.toFixed(4), text: word });
    span.style.background = score >= 0 ? `rgba(47,111,214,${a})` : `rgba(214,69,69,${a})`;
    out.appendChild(span);
  });
  return out;
}

// Text with [start, end) character ranges marked (QA gold and predicted spans).
function markSpans(text, ranges) {
  const cuts = new Set([0, text.length]);
  for (const r of ranges) { cuts.add(Math.max(0, r.start)); cuts.add(Math.min(text.length, r.end)); }
  const points = [...cuts].sort((a, b) => a - b), out = el("div", { class: "text-block" });
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]], piece = text.slice(a, b);
    const classes = ranges.filter((r) => r.start <= a && b <= r.end).map((r) => r.cls);
    out.appendChild(classes.length ? el("mark", { class: classes.join(" "), text: piece }) : document.createTextNode(piece));
  }
  return out;
}

function download(blob, name) {
  const url = URL.createObjectURL(blob), a = el("a", { href: url, download: name });
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
