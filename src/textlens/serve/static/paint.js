// The map's data and styling: columns fetched once as typed arrays, colours and sizes for every
// point (colour column, filters in grey, the selection with the rest faded), the legend and the
// filter bar.
import { CATEGORY_PALETTE, FILTERED_RGB, MISSING_RGB, categoryColours, categoryName, hexRGB, ramp } from "./colors.js";
import { clear, el, fmt, getBinary } from "./dom.js";
import { S, debug, runPath } from "./state.js";
import { toURL } from "./url.js";

const pack = ([r, g, b]) => r | (g << 8) | (b << 16);  // little-endian RGBA, alpha 0
const DEFAULT_RGB = pack(hexRGB(CATEGORY_PALETTE[0])), MISSING = pack(MISSING_RGB);
const FILTERED = (pack(FILTERED_RGB) | (60 << 24)) >>> 0;

export async function column(name) {
  if (!name) return null;
  if (!S.cols[name]) {
    const info = S.meta.columns.find((c) => c.name === name);
    if (!info) return null;
    const buf = await getBinary(runPath(`columns/${encodeURIComponent(name)}`));
    S.cols[name] = { info, values: info.kind === "numeric" ? new Float32Array(buf) : new Uint16Array(buf) };
  }
  return S.cols[name];
}

// 1st and 99th percentile of the finite values, from a sample of at most 100k: at 1M points a
// full sort took ~0.5 s of the 300 ms budget for a colour change.
function quantiles(values) {
  const step = Math.max(1, Math.floor(values.length / 100000)), finite = [];
  for (let i = 0; i < values.length; i += step) if (Number.isFinite(values[i])) finite.push(values[i]);
  if (!finite.length) return [0, 1];
  const sorted = Float32Array.from(finite).sort();
  return [sorted[Math.floor(0.01 * (sorted.length - 1))], sorted[Math.floor(0.99 * (sorted.length - 1))]];
}

// Packed RGB per category code (and the missing code), or a 256-step ramp for a numeric column.
function colourTable(c) {
  if (!c) return null;
  if (c.info.kind === "numeric") {
    const [lo, hi] = quantiles(c.values), lut32 = new Uint32Array(256);
    for (let k = 0; k < 256; k++) lut32[k] = pack(ramp(k / 255));
    return { numeric: true, lo, hi, lut32 };
  }
  const [hexes, order] = categoryColours(c.info.name, c.info.categories, c.values);
  const lut32 = new Uint32Array(65536).fill(MISSING);  // 0xFFFF: no value
  hexes.forEach((h, k) => { lut32[k] = pack(hexRGB(h)); });
  return { numeric: false, lut32, hexes, order };
}

// Colours (and sizes, when their column changed) for every point, written straight into the
// map's buffer order: one pass, no per-point allocation. At 1M points under load 13 the
// two-pass version (per-point arrays, then a gather) took 404 ms to compute and 155 ms to
// upload colours and sizes.
let sizesKey = null;
export async function restyle() {
  if (!S.map || !S.meta || !S.map.order) return;
  const n = S.meta.n, order = S.map.order, t0 = performance.now();
  const [c, z] = await Promise.all([column(S.color), column(S.size)]);
  await computeVisible();
  const table = colourTable(c), rgba = new Uint32Array(n);
  const sel = S.selection, bits = sel && sel.bits;
  let selected = null;
  if (sel && !bits && sel.positions) { selected = new Uint8Array(n); for (const i of sel.positions) selected[i] = 1; }
  // Overplotting: lighter when dense; the unselected fade further on a dense map.
  const base = (n > 20000 ? 150 : 210) << 24, faded = (n > 20000 ? 30 : 70) << 24;
  const visible = S.visible, vals = c ? c.values : null, numeric = table && table.numeric;
  const lut = table ? table.lut32 : null, lo = numeric ? table.lo : 0;
  const scale = numeric ? 255 / ((table.hi - table.lo) || 1) : 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (visible && !visible[i]) { rgba[k] = FILTERED; continue; }
    let rgb = DEFAULT_RGB;
    if (numeric) {
      const t = (vals[i] - lo) * scale;  // NaN stays NaN
      rgb = t === t ? lut[t <= 0 ? 0 : t >= 255 ? 255 : t | 0] : MISSING;
    } else if (vals) rgb = lut[vals[i]];
    const out = (selected && !selected[i]) || (bits && !(bits[i >> 3] & (1 << (i & 7))));
    rgba[k] = rgb | (out ? faded : base);
  }
  const key = `${S.run}|${S.size}|${n}`;
  if (key !== sizesKey) {
    const sizes = new Float32Array(n);
    if (z) {
      const [zl, zh] = quantiles(z.values), zs = 9 / ((zh - zl) || 1), v = z.values;
      for (let k = 0; k < n; k++) {
        const t = (v[order[k]] - zl) * zs;
        sizes[k] = t === t ? 3 + (t <= 0 ? 0 : t >= 9 ? 9 : t) : 2;
      }
    } else sizes.fill(n > 20000 ? 3 : 5);
    S.map.setSizes(sizes);
    sizesKey = key;
  }
  highlight(sel, bits, rgba);
  const t = performance.now();
  S.map.setColors(rgba);
  debug.styleMarks = { compute: t - t0, upload: performance.now() - t };
  legend(c, table);
}
export function resetSizes() { sizesKey = null; }

// A selection of up to EXTRA_CAP points is drawn again on top, in full colour, so a search
// hit or a lassoed point shows at every zoom even where levels of detail thin the map. Larger
// selections show through the drawn subset (~20k points at the fitted view of a 1M run).
const EXTRA_CAP = 50000;

function highlight(sel, bits, rgba) {
  const map = S.map, count = sel ? sel.count ?? (sel.positions ? sel.positions.length : 0) : 0;
  if (!sel || !count || count > EXTRA_CAP || !map.hasLod) { map.setExtra(new Uint32Array(0), new Uint32Array(0), new Float32Array(0)); return; }
  let points;
  if (bits) {
    points = [];
    for (let b = 0; b < bits.length; b++) if (bits[b]) for (let j = 0; j < 8; j++) if (bits[b] & (1 << j)) points.push(8 * b + j);
    points = Uint32Array.from(points);
  } else points = Uint32Array.from(sel.positions);
  const visible = S.visible;
  if (visible) points = points.filter((i) => visible[i]);
  const colours = new Uint32Array(points.length), sizes = new Float32Array(points.length);
  // Opaque and at least 7 px: a handful of hits must stand out from a million faded points.
  points.forEach((i, k) => { colours[k] = (rgba[map.rank[i]] & 0xFFFFFF) | (255 << 24); sizes[k] = Math.max(7, map.sizeOf(i) + 3); });
  map.setExtra(points, colours, sizes);
}

let visibleKey = null;
async function computeVisible() {
  const key = JSON.stringify(S.filters);
  if (key === visibleKey && (S.visible || !S.filters.length)) return;
  visibleKey = key;
  if (!S.filters.length) { S.visible = null; return; }
  const mask = new Uint8Array(S.meta.n).fill(1);
  for (const f of S.filters) {
    const c = await column(f.column);
    if (!c) continue;
    if (f.type === "eq") {
      const code = c.info.categories.indexOf(f.value);
      for (let i = 0; i < mask.length; i++) if (c.values[i] !== code) mask[i] = 0;
    } else {
      for (let i = 0; i < mask.length; i++) {
        const v = c.values[i];
        if (!(Number.isFinite(v) && (f.low === null || v >= f.low) && (f.high === null || v <= f.high))) mask[i] = 0;
      }
    }
  }
  S.visible = mask;
}
export function resetVisible() { visibleKey = null; S.visible = null; }

function legend(c, table) {
  const box = document.getElementById("legend");
  if (!c) { clear(box); return; }
  if (table.numeric) {
    const bar = el("canvas", { class: "ramp", width: 120, height: 10 });
    const ctx = bar.getContext("2d");
    for (let x = 0; x < 120; x++) { const [r, g, b] = ramp(x / 119); ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fillRect(x, 0, 1, 10); }
    clear(box, el("div", { text: c.info.name }), el("div", {}, fmt(table.lo, 2), " ", bar, " ", fmt(table.hi, 2)),
      el("div", { class: "muted", text: "1st–99th percentile" }));
    return;
  }
  const cats = c.info.categories, shownCodes = table.order.slice(0, 30);
  const rest = cats.length - shownCodes.length;
  clear(box, el("div", { text: c.info.name }), shownCodes.map((k) => {
    const sw = el("span", { class: "swatch" }); sw.style.background = table.hexes[k];
    return el("div", { class: "link", dir: "auto", onclick: () => addFilter({ type: "eq", column: c.info.name, value: cats[k] }) },
      sw, categoryName(c.info.name, cats[k]));
  }), rest > 0 ? el("div", { class: "muted", text: `+${rest} more (grey)` }) : null);
}

export function addFilter(f) {
  S.filters = S.filters.filter((g) => g.column !== f.column).concat([f]);
  toURL(true); chips(); restyle();
}

export function chips() {
  clear(document.getElementById("filter-chips"), S.filters.map((f, k) => el("span", { class: "chip" },
    f.type === "eq" ? `${f.column} = ${f.value}` : `${f.low ?? "−∞"} ≤ ${f.column} ≤ ${f.high ?? "∞"}`,
    el("button", { title: "remove", text: "×", onclick: () => { S.filters.splice(k, 1); toURL(true); chips(); restyle(); } }))));
}

export function filterEditor() {
  const colSel = document.getElementById("filter-column"), valSel = document.getElementById("filter-value");
  const low = document.getElementById("filter-low"), high = document.getElementById("filter-high");
  clear(colSel, S.meta.columns.map((c) => el("option", { value: c.name, text: c.name })));
  const update = () => {
    const info = S.meta.columns.find((c) => c.name === colSel.value);
    const numeric = info && info.kind === "numeric";
    valSel.hidden = numeric; low.hidden = !numeric; high.hidden = !numeric;
    if (info && !numeric) clear(valSel, info.categories.map((v) => el("option", { value: v, text: v })));
  };
  colSel.onchange = update; update();
  document.getElementById("filter-add").onclick = () => {
    const info = S.meta.columns.find((c) => c.name === colSel.value);
    if (!info) return;
    if (info.kind === "numeric") addFilter({ type: "range", column: info.name, low: low.value === "" ? null : +low.value, high: high.value === "" ? null : +high.value });
    else addFilter({ type: "eq", column: info.name, value: valSel.value });
  };
}
