// textlens dashboard, the entry module: views and panels, opening a run and its map, the map's
// mouse wiring, start-up. Views call back into setView / setSelection / setPanel; that import
// cycle (app <-> panel, pages) is safe because no module calls another at load time.
import { categoryName } from "./colors.js";
import { api, clear, el, fmt, getBinary, getJSON, q, shown } from "./dom.js";
import { PointMap } from "./map.js";
import { showClusters, showCorpus, showIssues } from "./pages.js";
import { chips, column, filterEditor, resetSizes, resetVisible, restyle } from "./paint.js";
import { openSample, showSelection } from "./panel.js";
import { S, debug, runPath } from "./state.js";
import { fromURL, status, toURL } from "./url.js";
import { renderValidate } from "./validate.js";

const VIEWS = ["map", "clusters", "issues", "corpus", "validate", "notice"];
const CORPUS_VIEWS = ["corpus", "validate"];

export function setView(view, push = true) {
  if (!S.meta) return;
  if (S.meta.kind === "corpus") view = CORPUS_VIEWS.includes(view) ? view : "corpus";
  else if (CORPUS_VIEWS.includes(view) || !VIEWS.includes(view) || view === "notice") view = "map";
  S.view = view;
  showOnly(view);
  for (const b of document.querySelectorAll("#tabs button")) {
    b.classList.toggle("active", b.dataset.view === view);
    b.hidden = CORPUS_VIEWS.includes(b.dataset.view) !== (S.meta.kind === "corpus");
  }
  toURL(push);
  if (view === "clusters") showClusters();
  if (view === "issues") showIssues();
  if (view === "corpus") showCorpus();
  if (view === "validate") renderValidate(document.getElementById("view-validate"), S.run, S.runs);
  if (view === "map" && S.map) S.map.resize();
}

function showOnly(view) {
  for (const v of VIEWS) document.getElementById("view-" + v).hidden = v !== view;
}

// A page instead of the dashboard: an unknown run or an unknown address, with the way on.
function notice(title, lines, runs) {
  showOnly("notice");
  for (const b of document.querySelectorAll("#tabs button")) b.hidden = true;
  clear(document.getElementById("view-notice"), el("h2", { id: "notice-title", text: title }),
    lines.map((t) => el("p", { text: t })),
    runs && runs.length ? el("ul", {}, runs.map((r) => el("li", {},
      el("a", { href: "/?" + q({ run: r.name }), text: r.name }), ` (${r.kind}${r.n ? ", " + r.n.toLocaleString() + " samples" : ""})`))) : null);
}

export function setPanel(which) {
  for (const b of document.querySelectorAll(".panel-tabs button")) b.classList.toggle("active", b.dataset.panel === which);
  document.getElementById("panel-selection").hidden = which !== "selection";
  document.getElementById("panel-sample").hidden = which !== "sample";
}

// A selection of known positions (a cluster, a slice; null clears it).
export async function setSelection(positions, label) {
  S.selection = positions ? { positions, count: positions.length, label: label || null } : null;
  await selectionChanged();
  if (positions) await showSelection();
}

async function selectionChanged() {
  debug.selectionCount = S.selection ? S.selection.count : 0;
  await restyle();
  setPanel("selection");
}

// The server tests shapes and searches against every point (`/select`, docs/dashboard.md);
// before that endpoint, or with filters on (which /select does not take), the page tests the
// polygon against every point itself. Either way a point not drawn at this zoom still counts.
const serverSelects = () => Boolean(S.meta && S.meta.lod) && !S.filters.length;

const boxPolygon = ([x0, y0, x1, y1]) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];

// A lasso or box ({polygon} or {box} in data coordinates) or a search ({search}).
export async function selectShape(shape, label) {
  const start = performance.now();
  if (!serverSelects()) {
    const poly = shape.polygon || (shape.box && boxPolygon(shape.box));
    if (!poly) { status("Search needs a newer textlens server.", true); return; }
    const allowed = (i) => !S.visible || S.visible[i];
    return setSelection(S.map.inside(poly, allowed), label);
  }
  // Highlighted at once from the page's own test of every point (~25 ms at 1M); the count shown
  // and the highlight that stays are the server's (its bitmap replaces this one).
  const poly = shape.polygon || (shape.box && boxPolygon(shape.box));
  const local = poly ? S.map.inside(poly) : null;
  S.selection = { shape, label, positions: local, count: local ? local.length : null, id: null, bits: null };
  const t0 = performance.now();
  if (local) await selectionChanged();
  const summary = await showSelection();  // the panel's summary is the /select answer
  if (!summary || !S.selection || S.selection.shape !== shape) return;
  const t1 = performance.now();
  const bits = new Uint8Array(await getBinary(runPath(`selections/${encodeURIComponent(summary.selection)}?format=bitmap`)));
  if (S.selection.shape !== shape) return;  // a newer selection won
  const t2 = performance.now();
  Object.assign(S.selection, { id: summary.selection, count: summary.count, bits });
  await selectionChanged();
  debug.selectMarks = { local_highlight: t0 - start, summary: t1 - t0, bitmap: t2 - t1, restyle: performance.now() - t2 };
}

async function openRun(name, url) {
  S.run = name; S.cols = {}; S.selection = null; S.sample = url.sample || null;
  resetVisible(); resetSizes();
  S.meta = await getJSON(`runs/${encodeURIComponent(name)}`);
  S.filters = url.filters || []; S.issueStatus = url.status || "open"; S.issueOffset = 0;
  S.issueFlagged = url.flagged !== false;
  document.getElementById("run-picker").value = name;
  if (S.meta.kind === "analysis") await openMap(url);
  setView(url.view || "map", false);
  if (S.sample && S.meta.kind === "analysis") openSample(S.sample, false);
}

async function openMap(url) {
  const names = S.meta.columns.map((c) => c.name);
  S.color = names.includes(url.color) ? url.color : S.meta.default_color;
  S.size = url.size === "none" ? null : (names.includes(url.size) ? url.size : S.meta.default_size);
  const colorSel = document.getElementById("color-by"), sizeSel = document.getElementById("size-by");
  clear(colorSel, el("option", { value: "", text: "(none)" }), names.map((n) => el("option", { value: n, text: n })));
  clear(sizeSel, el("option", { value: "", text: "(none)" }), S.meta.columns.filter((c) => c.kind === "numeric").map((c) => el("option", { value: c.name, text: c.name })));
  colorSel.value = S.color || ""; sizeSel.value = S.size || "";
  filterEditor(); chips(); searchBox();
  const marks = { ...(debug.marks || {}), meta: performance.now() };
  if (!S.map) return;
  const [buf, lod] = await Promise.all([getBinary(runPath("points")),
    S.meta.lod ? getBinary(runPath("lod")) : null, column(S.color), column(S.size)]);
  marks.data = performance.now();
  const n = S.meta.n;
  S.map.setPoints(new Float32Array(buf, 0, n), new Float32Array(buf, 4 * n, n),
    lod ? new Uint8Array(lod) : null, S.meta.lod ? S.meta.lod.base_cells : undefined);
  marks.points = performance.now();
  await restyle();
  debug.drawnAt = marks.drawn = performance.now();
  debug.marks = marks;  // ms since navigation: meta received, arrays received, ...
  status(`${n.toLocaleString()} points`);
  for (const h of S.meta.hover) column(h);  // for hover text, in the background
}

// Search: substring or regular expression over the texts or a metadata column, on the server;
// the matches become the selection (highlighted on the map, summarised in the panel).
function searchBox() {
  const box = document.getElementById("search-box"), cols = S.meta.searchable || [];
  box.hidden = !cols.length;
  clear(document.getElementById("search-column"), cols.map((c) => el("option", { value: c, text: c })));
  const input = document.getElementById("search-text");
  input.onkeydown = (e) => { if (e.key === "Enter") runSearch(); };
  document.getElementById("search-go").onclick = runSearch;
}

export async function runSearch() {
  const text = document.getElementById("search-text").value;
  if (!text) { status(""); return setSelection(null); }
  const search = { q: text, regex: document.getElementById("search-regex").checked,
    column: document.getElementById("search-column").value || null };
  let res;
  try {
    res = await api(runPath(`search?${q({ q: text, regex: search.regex ? 1 : 0, ...(search.column ? { column: search.column } : {}), format: "binary" })}`));
  } catch (e) { status(e.message, true); return; }
  const count = Number(res.headers.get("X-Count") || 0);
  if (!count) { status(`${res.headers.get("X-Message") || "Nothing matches."} (searched: "${text}")`, true); return setSelection(null); }
  const positions = new Uint32Array(await res.arrayBuffer());
  status(`${count.toLocaleString()} ${count === 1 ? "match" : "matches"} for "${text}"`);
  S.selection = { positions, count, id: res.headers.get("X-Selection"), shape: { search }, label: `search "${text}"` };
  await selectionChanged();
  await showSelection();
}

function hoverText(i, text) {
  const lines = [];
  if (text) lines.push(text);
  for (const h of S.meta.hover) {
    const c = S.cols[h];
    if (!c) continue;
    const v = c.values[i];
    lines.push(`${h}: ${c.info.kind === "numeric" ? fmt(v) : (v === 0xFFFF ? "–" : categoryName(h, c.info.categories[v]))}`);
  }
  return lines.join("\n");
}

const hoverCache = new Map();
async function rowInfo(i) {
  if (!hoverCache.has(i)) {
    const r = await getJSON(runPath(`texts?${q({ positions: String(i) })}`));
    hoverCache.set(i, r[String(i)]);
  }
  return hoverCache.get(i);
}

function wireMap() {
  const tip = document.getElementById("tooltip");
  S.map = new PointMap(document.getElementById("map"), document.getElementById("map-overlay"));
  const allowed = (i) => !S.visible || S.visible[i];
  let hovered = -1;
  S.map.onHover = async ([x, y]) => {
    const i = S.map.pick(x, y, 8, allowed);
    S.map.ring(i);
    if (i < 0) { tip.hidden = true; hovered = -1; return; }
    hovered = i;
    tip.hidden = false; tip.style.left = (x + 12) + "px"; tip.style.top = (y + 12) + "px";
    tip.textContent = shown(hoverText(i, ""));
    const info = await rowInfo(i);
    if (hovered === i) tip.textContent = shown(hoverText(i, info.text));
  };
  S.map.onClick = async ([x, y]) => {
    const i = S.map.pick(x, y, 8, allowed);
    if (i >= 0) openSample((await rowInfo(i)).id, true);
  };
  S.map.onSelect = (path) => {
    const poly = path.map(([x, y]) => S.map.toData(x, y));
    if (S.map.mode === "box") {
      const xs = poly.map((p) => p[0]), ys = poly.map((p) => p[1]);
      return selectShape({ box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] }, "box");
    }
    return selectShape({ polygon: poly }, "lasso");
  };
  for (const b of document.querySelectorAll(".modes button[data-mode]")) {
    b.onclick = () => { S.map.mode = b.dataset.mode; document.querySelectorAll(".modes button[data-mode]").forEach((o) => o.classList.toggle("active", o === b)); };
  }
  document.querySelector('.modes button[data-mode="pan"]').classList.add("active");
  document.getElementById("fit").onclick = () => S.map.fit();
  document.getElementById("color-by").onchange = (e) => { S.color = e.target.value || null; toURL(false); restyle(); };
  document.getElementById("size-by").onchange = (e) => { S.size = e.target.value || null; toURL(false); restyle(); };
  debug.map = S.map;
  debug.screenOf = (i) => {
    const r = S.map.overlay.getBoundingClientRect(), [x, y] = S.map.toScreen(S.map.xs[i], S.map.ys[i]);
    return [r.left + x, r.top + y];
  };
}

async function main() {
  debug.marks = { start: performance.now() };
  const runs = getJSON("runs");  // in flight while WebGL starts (~0.5 s in software WebGL)
  try { wireMap(); } catch (e) { S.map = null; status(`The map needs WebGL (${e.message}); the other views work.`, true); }
  for (const b of document.querySelectorAll("#tabs button")) b.onclick = () => setView(b.dataset.view);
  for (const b of document.querySelectorAll(".panel-tabs button")) b.onclick = () => setPanel(b.dataset.panel);
  setPanel("selection");
  try {
    S.runs = await runs;
    const picker = document.getElementById("run-picker");
    clear(picker, S.runs.map((r) => el("option", { value: r.name, text: `${r.name} (${r.kind}${r.n ? ", " + r.n.toLocaleString() : ""})` })));
    picker.onchange = () => { openRun(picker.value, {}); toURL(true); };
    const url = fromURL();
    if (location.pathname !== "/") {
      notice("Page not found", [`Nothing lives at ${location.pathname}. The dashboard is at /; the runs served here:`], S.runs);
      return;
    }
    if (url.run && !S.runs.some((r) => r.name === url.run)) {
      picker.value = "";
      notice(`No run named "${url.run}"`, ["This server was started with these runs (pick one):"], S.runs);
      return;
    }
    if (!S.runs.length) { notice("No runs", ["This server serves no runs: start it with `textlens serve RUN_DIR`."], []); return; }
    await openRun(url.run || S.runs[0].name, url);
  } catch (e) { status(e.message, true); }
  window.addEventListener("popstate", () => {
    const url = fromURL();
    if (url.run && url.run !== S.run) openRun(url.run, url);
    else { S.sample = url.sample; setView(url.view || "map", false); if (url.sample) openSample(url.sample, false); }
  });
}

// Console and browser-test hooks (tests/browser call these by name; bench/dashboard_browser.py
// times restyle and selectShape through window.textlens).
Object.assign(window, { setSelection, getJSON, runPath });
Object.assign(debug, { restyle, selectShape });

document.addEventListener("DOMContentLoaded", main);
