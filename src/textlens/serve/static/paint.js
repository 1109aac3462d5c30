// The map's data and styling: columns fetched once as typed arrays, colours and sizes for every
// point (colour column, filters in grey, the selection with the rest faded), the legend and the
// filter bar.
import { FILTERED_RGB, MISSING_RGB, categoryColours, categoryName, hexRGB, ramp } from "./colors.js";
import { clear, el, fmt, getBinary } from "./dom.js";
import { S, runPath } from "./state.js";
import { toURL } from "./url.js";

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

// RGBA per category code (and the missing code), or a 256-step ramp for a numeric column.
function colourTable(c) {
  if (!c) return null;
  if (c.info.kind === "numeric") {
    const [lo, hi] = quantiles(c.values), lut = new Uint8Array(256 * 3);
    for (let k = 0; k < 256; k++) lut.set(ramp(k / 255), 3 * k);
    return { numeric: true, lo, hi, lut };
  }
  const [hexes, order] = categoryColours(c.info.name, c.info.categories, c.values);
  const lut = new Uint8Array(3 * 65536);
  for (let k = 0; k < 65536; k++) lut.set(MISSING_RGB, 3 * k);
  hexes.forEach((h, k) => lut.set(hexRGB(h), 3 * k));
  return { numeric: false, lut, hexes, order };
}

// Colours and sizes for every point: one pass over typed arrays, no per-point allocation
// (a colour change at 1M points is one such pass plus the upload).
export async function restyle() {
  if (!S.map || !S.meta) return;
  const n = S.meta.n;
  const [c, z] = await Promise.all([column(S.color), column(S.size)]);
  await computeVisible();
  const table = colourTable(c), colors = new Uint8Array(4 * n), sizes = new Float32Array(n);
  const sel = S.selection, bits = sel && sel.bits;
  let selected = null;
  if (sel && !bits && sel.positions) { selected = new Uint8Array(n); for (const i of sel.positions) selected[i] = 1; }
  const base = n > 20000 ? 150 : 210;  // overplotting: lighter when dense
  const visible = S.visible, vals = c ? c.values : null, lut = table ? table.lut : null;
  const scale = table && table.numeric ? 255 / ((table.hi - table.lo) || 1) : 0;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    let k = -1;
    if (vals) {
      const v = vals[i];
      if (table.numeric) k = Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round((v - table.lo) * scale))) : -1;
      else k = v;
    }
    if (visible && !visible[i]) { colors[o] = FILTERED_RGB[0]; colors[o + 1] = FILTERED_RGB[1]; colors[o + 2] = FILTERED_RGB[2]; colors[o + 3] = 60; continue; }
    if (k < 0) { colors[o] = vals ? MISSING_RGB[0] : 31; colors[o + 1] = vals ? MISSING_RGB[1] : 119; colors[o + 2] = vals ? MISSING_RGB[2] : 180; }
    else { colors[o] = lut[3 * k]; colors[o + 1] = lut[3 * k + 1]; colors[o + 2] = lut[3 * k + 2]; }
    colors[o + 3] = (selected && !selected[i]) || (bits && !(bits[i >> 3] & (1 << (i & 7)))) ? 70 : base;
  }
  if (z) {
    const [zl, zh] = quantiles(z.values), zs = 9 / ((zh - zl) || 1), v = z.values;
    for (let i = 0; i < n; i++) sizes[i] = Number.isFinite(v[i]) ? 3 + Math.min(9, Math.max(0, (v[i] - zl) * zs)) : 2;
  } else sizes.fill(n > 20000 ? 3 : 5);
  S.map.setStyle(colors, sizes);
  legend(c, table);
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
