// textlens dashboard: state, URL, the map's data (fetched once as typed arrays) and its styling.
"use strict";

const S = {
  runs: [], run: null, meta: null, cols: {}, view: "map", sample: null,
  color: null, size: null, filters: [], selection: null, visible: null,
  sort: { column: "loss", descending: true }, issueStatus: "open", issueOffset: 0, map: null,
};
window.textlens = { state: S, drawnAt: null };

function fromURL() {
  const p = new URLSearchParams(location.search);
  return {
    run: p.get("run"), view: p.get("view"), sample: p.get("sample"), color: p.get("color"),
    size: p.get("size"), status: p.get("status"),
    filters: [...p.getAll("f").map((f) => ({ type: "eq", column: f.split(":")[0], value: f.slice(f.indexOf(":") + 1) })),
              ...p.getAll("r").map((r) => { const [c, range] = [r.slice(0, r.lastIndexOf(":")), r.slice(r.lastIndexOf(":") + 1)];
                const [lo, hi] = range.split(".."); return { type: "range", column: c, low: lo === "" ? null : +lo, high: hi === "" ? null : +hi }; })],
  };
}

function toURL(push) {
  const p = new URLSearchParams();
  if (S.run) p.set("run", S.run);
  if (S.view !== "map") p.set("view", S.view);
  if (S.sample) p.set("sample", S.sample);
  if (S.meta && S.color && S.color !== S.meta.default_color) p.set("color", S.color);
  if (S.meta && S.size !== S.meta.default_size) p.set("size", S.size || "none");
  if (S.view === "issues" && S.issueStatus !== "open") p.set("status", S.issueStatus);
  for (const f of S.filters) {
    if (f.type === "eq") p.append("f", `${f.column}:${f.value}`);
    else p.append("r", `${f.column}:${f.low ?? ""}..${f.high ?? ""}`);
  }
  const url = "?" + p.toString();
  if (url !== location.search) (push ? history.pushState : history.replaceState).call(history, null, "", url);
}

function status(text, isError) {
  const s = document.getElementById("status");
  s.textContent = text || ""; s.className = isError ? "error" : "muted";
}

async function column(name) {
  if (!name) return null;
  if (!S.cols[name]) {
    const info = S.meta.columns.find((c) => c.name === name);
    if (!info) return null;
    const buf = await getBinary(`runs/${encodeURIComponent(S.run)}/columns/${encodeURIComponent(name)}`);
    S.cols[name] = { info, values: info.kind === "numeric" ? new Float32Array(buf) : new Uint16Array(buf) };
  }
  return S.cols[name];
}

function quantiles(values) {
  const finite = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  if (!finite.length) return [0, 1];
  return [finite[Math.floor(0.01 * (finite.length - 1))], finite[Math.floor(0.99 * (finite.length - 1))]];
}

// Colours and sizes for every point: colour column, filters (grey), selection (others faded).
async function restyle() {
  if (!S.map) return;
  const n = S.meta.n, colors = new Uint8Array(4 * n), sizes = new Float32Array(n);
  const [c, z] = await Promise.all([column(S.color), column(S.size)]);
  await computeVisible();
  let lo = 0, hi = 1;
  if (c && c.info.kind === "numeric") [lo, hi] = quantiles(c.values);
  const palette = PALETTE.map(hexRGB);
  const selected = S.selection ? new Uint8Array(n) : null;
  if (selected) for (const i of S.selection) selected[i] = 1;
  for (let i = 0; i < n; i++) {
    let rgb = [78, 121, 167];
    if (c) {
      const v = c.values[i];
      if (c.info.kind === "numeric") rgb = Number.isFinite(v) ? ramp((v - lo) / ((hi - lo) || 1)) : [180, 180, 180];
      else rgb = v === 0xFFFF ? [180, 180, 180] : palette[v % palette.length];
    }
    let alpha = n > 20000 ? 150 : 210;  // overplotting: lighter when dense
    if (S.visible && !S.visible[i]) { rgb = [205, 205, 205]; alpha = 60; }
    else if (selected && !selected[i]) alpha = 70;
    colors.set([rgb[0], rgb[1], rgb[2], alpha], 4 * i);
  }
  if (z) {
    const [zl, zh] = quantiles(z.values);
    for (let i = 0; i < n; i++) {
      const v = z.values[i];
      sizes[i] = Number.isFinite(v) ? 3 + 9 * Math.min(1, Math.max(0, (v - zl) / ((zh - zl) || 1))) : 2;
    }
  } else sizes.fill(n > 20000 ? 3 : 5);
  S.map.setStyle(colors, sizes);
  legend(c, lo, hi);
}

async function computeVisible() {
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

function legend(c, lo, hi) {
  const box = document.getElementById("legend");
  if (!c) { clear(box); return; }
  if (c.info.kind === "numeric") {
    const bar = el("canvas", { class: "ramp", width: 120, height: 10 });
    const ctx = bar.getContext("2d");
    for (let x = 0; x < 120; x++) { const [r, g, b] = ramp(x / 119); ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fillRect(x, 0, 1, 10); }
    clear(box, el("div", { text: c.info.name }), el("div", {}, fmt(lo, 2), " ", bar, " ", fmt(hi, 2)));
    return;
  }
  const cats = c.info.categories.slice(0, 30);
  clear(box, el("div", { text: c.info.name }), cats.map((name, k) => {
    const sw = el("span", { class: "swatch" }); sw.style.background = PALETTE[k % PALETTE.length];
    return el("div", { class: "link", onclick: () => addFilter({ type: "eq", column: c.info.name, value: name }) }, sw, name);
  }), c.info.categories.length > 30 ? el("div", { class: "muted", text: `+${c.info.categories.length - 30} more` }) : null);
}

function addFilter(f) {
  S.filters = S.filters.filter((g) => g.column !== f.column).concat([f]);
  toURL(true); chips(); restyle();
}

function chips() {
  clear(document.getElementById("filter-chips"), S.filters.map((f, k) => el("span", { class: "chip" },
    f.type === "eq" ? `${f.column} = ${f.value}` : `${f.low ?? "−∞"} ≤ ${f.column} ≤ ${f.high ?? "∞"}`,
    el("button", { title: "remove", text: "×", onclick: () => { S.filters.splice(k, 1); toURL(true); chips(); restyle(); } }))));
}

function filterEditor() {
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

function setView(view, push = true) {
  if (!S.meta) return;
  if (S.meta.kind === "corpus") view = "corpus";
  else if (view === "corpus") view = "map";
  S.view = view;
  for (const v of ["map", "clusters", "issues", "corpus"]) document.getElementById("view-" + v).hidden = v !== view;
  for (const b of document.querySelectorAll("#tabs button")) {
    b.classList.toggle("active", b.dataset.view === view);
    b.hidden = (b.dataset.view === "corpus") !== (S.meta.kind === "corpus");
  }
  toURL(push);
  if (view === "clusters") showClusters();
  if (view === "issues") showIssues();
  if (view === "corpus") showCorpus();
  if (view === "map" && S.map) S.map.resize();
}

function setPanel(which) {
  for (const b of document.querySelectorAll(".panel-tabs button")) b.classList.toggle("active", b.dataset.panel === which);
  document.getElementById("panel-selection").hidden = which !== "selection";
  document.getElementById("panel-sample").hidden = which !== "sample";
}

async function setSelection(positions, label) {
  S.selection = positions;
  window.textlens.selectionCount = positions ? positions.length : 0;
  await restyle();
  setPanel("selection");
  if (positions) await showSelection(label);
}

async function openRun(name, url) {
  S.run = name; S.cols = {}; S.selection = null; S.sample = url.sample || null;
  S.meta = await getJSON(`runs/${encodeURIComponent(name)}`);
  S.filters = url.filters || []; S.issueStatus = url.status || "open"; S.issueOffset = 0;
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
  filterEditor(); chips();
  const marks = { ...(window.textlens.marks || {}), meta: performance.now() };
  if (!S.map) return;
  const [buf] = await Promise.all([getBinary(`runs/${encodeURIComponent(S.run)}/points`), column(S.color), column(S.size)]);
  marks.data = performance.now();
  const n = S.meta.n;
  S.map.setPoints(new Float32Array(buf, 0, n), new Float32Array(buf, 4 * n, n));
  marks.points = performance.now();
  await restyle();
  window.textlens.drawnAt = marks.drawn = performance.now();
  window.textlens.marks = marks;  // ms since navigation: meta received, arrays received, ...
  status(`${n.toLocaleString()} points`);
  for (const h of S.meta.hover) column(h);  // for hover text, in the background
}

function hoverText(i, text) {
  const lines = [];
  if (text) lines.push(text);
  for (const h of S.meta.hover) {
    const c = S.cols[h];
    if (!c) continue;
    const v = c.values[i];
    lines.push(`${h}: ${c.info.kind === "numeric" ? fmt(v) : (v === 0xFFFF ? "–" : c.info.categories[v])}`);
  }
  return lines.join("\n");
}

const hoverCache = new Map();
async function rowInfo(i) {
  if (!hoverCache.has(i)) {
    const r = await getJSON(`runs/${encodeURIComponent(S.run)}/texts?${q({ positions: String(i) })}`);
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
    tip.textContent = hoverText(i, "");
    const info = await rowInfo(i);
    if (hovered === i) tip.textContent = hoverText(i, info.text);
  };
  S.map.onClick = async ([x, y]) => {
    const i = S.map.pick(x, y, 8, allowed);
    if (i >= 0) openSample((await rowInfo(i)).id, true);
  };
  S.map.onSelect = (path) => setSelection(S.map.inside(path, allowed), "lasso");
  for (const b of document.querySelectorAll(".modes button")) {
    b.onclick = () => { S.map.mode = b.dataset.mode; document.querySelectorAll(".modes button").forEach((o) => o.classList.toggle("active", o === b)); };
  }
  document.querySelector('.modes button[data-mode="pan"]').classList.add("active");
  document.getElementById("fit").onclick = () => S.map.fit();
  document.getElementById("color-by").onchange = (e) => { S.color = e.target.value || null; toURL(false); restyle(); };
  document.getElementById("size-by").onchange = (e) => { S.size = e.target.value || null; toURL(false); restyle(); };
  window.textlens.map = S.map;
  window.textlens.screenOf = (i) => {
    const r = S.map.overlay.getBoundingClientRect(), [x, y] = S.map.toScreen(S.map.xs[i], S.map.ys[i]);
    return [r.left + x, r.top + y];
  };
}

async function main() {
  window.textlens.marks = { start: performance.now() };
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
    const name = S.runs.some((r) => r.name === url.run) ? url.run : S.runs[0].name;
    if (url.run && url.run !== name) status(`No run named "${url.run}"; showing ${name}.`, true);
    await openRun(name, url);
  } catch (e) { status(e.message, true); }
  window.addEventListener("popstate", () => { const url = fromURL(); if (url.run && url.run !== S.run) openRun(url.run, url); else { S.sample = url.sample; setView(url.view || "map", false); if (url.sample) openSample(url.sample, false); } });
}

document.addEventListener("DOMContentLoaded", main);
