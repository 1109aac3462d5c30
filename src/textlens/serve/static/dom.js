// DOM and data helpers. Every piece of dataset text enters the page as a text node
// (textContent / createTextNode) after `shown()`; no HTML-parsing sink is used anywhere, so no
// sample can become markup, and no bidi control in a sample can reorder the page around it.
import { AGAINST_RGB, SUPPORTS_RGB, rgba } from "./colors.js";

// Bidirectional controls (embeddings, overrides, isolates and the marks) shown as visible
// markers: a name with U+202E would otherwise read reversed. Display only: exports, filters and
// API calls use the exact stored strings.
const BIDI_NAMES = {
  "\u061C": "ALM", "\u200E": "LRM", "\u200F": "RLM", "\u202A": "LRE", "\u202B": "RLE",
  "\u202C": "PDF", "\u202D": "LRO", "\u202E": "RLO", "\u2066": "LRI", "\u2067": "RLI",
  "\u2068": "FSI", "\u2069": "PDI",
};
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
export const shown = (s) => String(s).replace(BIDI, (c) => `⟨${BIDI_NAMES[c]}⟩`);

export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = shown(v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "style") Object.assign(node.style, v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(shown(c)));
  }
  return node;
}

// Dataset text inline among the page's own words: an isolated run (<bdi>) so right-to-left
// text cannot pull the surrounding punctuation around.
export const data = (v) => el("bdi", { text: fmt(v) });

export function clear(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
  return node;
}

// A failed call: the server's problem and fix, and the HTTP status for callers that branch.
export class ApiError extends Error {
  constructor(message, status, body) { super(message); this.status = status; this.body = body; }
}

export async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch("/api/" + path, init);
  if (!res.ok) {
    let msg = res.status + " " + res.statusText, j = null;
    try {
      j = await res.json();
      msg = [j.problem || j.detail, j.fix].filter(Boolean).join(" — ") || msg;
    } catch { /* not JSON */ }
    throw new ApiError(msg, res.status, j);
  }
  return res;
}
export const getJSON = async (path) => (await api(path)).json();
export const postJSON = async (path, body) => (await api(path, body)).json();
export const getBinary = async (path) => (await api(path)).arrayBuffer();

// Numbers as a reader wants them: p-values and other tiny numbers in 7.7e-23 style, not 0.000.
export function fmt(v, digits = 3) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    if (v !== 0 && Math.abs(v) < 0.5 * 10 ** -digits) return v.toExponential(1);
    return v.toFixed(digits);
  }
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

// A cell: yes/no for the 0/1 correctness flags, numbers by fmt.
const FLAG_COLUMNS = new Set(["correct", "exact_match", "flagged", "issue_flagged"]);
export function cell(column, v) {
  if (FLAG_COLUMNS.has(column) && (v === 0 || v === 1 || typeof v === "boolean")) return v ? "yes" : "no";
  return fmt(v);
}

export function q(params) { return new URLSearchParams(params).toString(); }

// A table from records; `onRow(record)` makes rows clickable, `onSort(column)` headers.
export function table(records, columns, { onRow, onSort, sortedBy } = {}) {
  const cols = columns || (records.length ? Object.keys(records[0]) : []);
  const head = el("tr", {}, cols.map((c) => el("th", {
    text: c + (sortedBy && sortedBy.column === c ? (sortedBy.descending ? " ▼" : " ▲") : ""),
    onclick: onSort ? () => onSort(c) : undefined })));
  const rows = records.map((r) => el("tr", { class: onRow ? "clickable" : "", onclick: onRow ? () => onRow(r) : undefined },
    cols.map((c) => el("td", { class: typeof r[c] === "number" ? "num" : "", dir: typeof r[c] === "string" ? "auto" : undefined, text: cell(c, r[c]) }))));
  return el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, head), el("tbody", {}, rows)));
}

const heatColour = (score, max) => rgba(score >= 0 ? SUPPORTS_RGB : AGAINST_RGB, Math.min(1, Math.abs(score) / max) * 0.85);

// The colour key under every heatmap, in the report's words.
export function heatLegend([plusText, minusText] = ["supports the target", "against it"], [plus, minus] = [SUPPORTS_RGB, AGAINST_RGB]) {
  const sw = (rgb, text) => el("span", { class: "heat-key", style: { background: rgba(rgb, 0.6) }, text });
  return el("div", { class: "muted heat-legend" }, sw(plus, plusText), " ", sw(minus, minusText),
    " · stronger colour, larger score; hover a word for its score");
}

// Word heatmap: the text with each attributed word's background set from its score
// (green: pushes towards the target, red: against), score in the title. Text nodes only.
export function heatmap(text, spans, scores, segment) {
  const max = Math.max(1e-12, ...scores.map(Math.abs));
  const items = spans.map((s, i) => ({ seg: s[0], start: s[1], end: s[2], score: scores[i] }))
    .filter((w) => segment === undefined || w.seg === segment).sort((a, b) => a.start - b.start);
  const out = el("div", { class: "text-block heat", dir: "auto" });
  let at = 0;
  for (const w of items) {
    if (w.start < at) continue;
    if (w.start > at) out.appendChild(document.createTextNode(shown(text.slice(at, w.start))));
    const span = el("span", { class: "w", title: w.score.toFixed(4), text: text.slice(w.start, w.end) });
    span.style.background = heatColour(w.score, max);
    out.appendChild(span);
    at = w.end;
  }
  if (at < text.length) out.appendChild(document.createTextNode(shown(text.slice(at))));
  return out;
}

// Words with scores but no character spans (corpus explanations): joined by spaces.
export function wordHeatmap(words, [plus, minus] = [SUPPORTS_RGB, AGAINST_RGB]) {
  const max = Math.max(1e-12, ...words.map((w) => Math.abs(w[1])));
  const out = el("div", { class: "text-block heat", dir: "auto" });
  // A word's third element, when the run stored it, is what followed it as typed ("" before
  // punctuation): "anti-scientific", not the tokeniser's "anti - scientific".
  words.forEach(([word, score], i) => {
    if (i) out.appendChild(document.createTextNode(words[i - 1][2] ?? " "));
    const span = el("span", { class: "w", title: score.toFixed(4), text: word });
    span.style.background = rgba(score >= 0 ? plus : minus, Math.min(1, Math.abs(score) / max) * 0.85);
    out.appendChild(span);
  });
  return out;
}

// Text with [start, end) character ranges marked (QA gold and predicted spans).
export function markSpans(text, ranges) {
  const cuts = new Set([0, text.length]);
  for (const r of ranges) { cuts.add(Math.max(0, r.start)); cuts.add(Math.min(text.length, r.end)); }
  const points = [...cuts].sort((a, b) => a - b), out = el("div", { class: "text-block", dir: "auto" });
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]], piece = text.slice(a, b);
    const classes = ranges.filter((r) => r.start <= a && b <= r.end).map((r) => r.cls);
    out.appendChild(classes.length ? el("mark", { class: classes.join(" "), text: piece }) : document.createTextNode(shown(piece)));
  }
  return out;
}

export function download(blob, name) {
  const url = URL.createObjectURL(blob), a = el("a", { href: url, download: name });
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
