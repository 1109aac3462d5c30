// The full-width views: clusters & slices, the label review queue, a corpus run.
import { setSelection, setView } from "./app.js";
import { NEGATIVE, NEGATIVE_RGB, POSITIVE, POSITIVE_RGB } from "./colors.js";
import { cell, clear, data, el, fmt, getJSON, heatLegend, q, shown, table, wordHeatmap } from "./dom.js";
import { openSample, reviewControls } from "./panel.js";
import { S, runPath } from "./state.js";
import { toURL } from "./url.js";

export async function showClusters() {
  const box = document.getElementById("view-clusters");
  const d = await getJSON(runPath("clusters"));
  const pick = async (column, value, label) => {
    const r = await getJSON(runPath(`members?${q({ column, value: String(value) })}`));
    setView("map"); await setSelection(r.positions, label);
  };
  clear(box, el("h3", { text: "clusters (click to select on the map)" }),
    d.clusters && d.clusters.length ? table(d.clusters, null, { onRow: (r) => pick("cluster", r.id, `cluster ${r.id}`) }) : el("p", { class: "muted", text: "no clusters table" }),
    el("h3", { text: "high-loss slices" }),
    d.slices && d.slices.length ? table(d.slices, null, { onRow: (r) => pick(r.feature, r.value, `${r.feature} = ${r.value}`) }) : el("p", { class: "muted", text: "no slices table" }),
    el("h3", { text: "saved slices" }),
    d.saved && d.saved.length ? table(d.saved, null, { onRow: async (r) => {
      const s = await getJSON(runPath(`saved-slice?${q({ slice: r.name })}`)); setView("map"); await setSelection(s.positions, r.name);
    } }) : el("p", { class: "muted", text: "none yet: select points and Save slice" }));
}

// The queue opens on the flagged issues (the detector's verdict); every ranked row is one click
// away ("all N ranked").
export async function showIssues() {
  const box = document.getElementById("view-issues");
  const page = 25, base = { status: S.issueStatus, offset: S.issueOffset, limit: page };
  const [d, all] = await Promise.all([
    getJSON(runPath(`issues?${q({ ...base, flagged: S.issueFlagged })}`)),
    getJSON(runPath(`issues?${q({ ...base, flagged: !S.issueFlagged, offset: 0, limit: 1 })}`))]);
  const [flagged, everything] = S.issueFlagged ? [d.total, all.total] : [all.total, d.total];
  const statusSel = el("select", { onchange: (e) => { S.issueStatus = e.target.value; S.issueOffset = 0; toURL(false); showIssues(); } },
    ["open", "reviewed", "all"].map((v) => el("option", { value: v, text: v })));
  statusSel.value = S.issueStatus;
  const scope = (flag) => { S.issueFlagged = flag; S.issueOffset = 0; toURL(false); showIssues(); };
  const scopeButtons = [
    el("button", { id: "issues-flagged", class: S.issueFlagged ? "active" : "", text: `flagged (${flagged})`, onclick: () => scope(true) }),
    el("button", { id: "issues-all", class: S.issueFlagged ? "" : "active", text: `all ranked (${everything})`, onclick: () => scope(false) })];
  const turn = (delta) => { S.issueOffset = Math.max(0, S.issueOffset + delta); showIssues(); };
  const cards = d.rows.map((r) => {
    const card = el("div", { class: "card issue" + (r.review ? " decision-" + r.review.decision : ""), "data-id": r.id },
      el("h4", {}, `#${r.evidence.rank ?? "?"} `, el("span", { class: "link", text: r.id, onclick: () => openSample(r.id, true) }),
        r.evidence.kind ? el("span", { class: "chip", text: r.evidence.kind }) : null),
      el("div", { class: "text-block issue-text", dir: "auto", text: r.text ?? "" }),
      el("div", {}, "given: ", data(r.given), " · suggested: ", data(r.suggested), " · model: ", data(r.prediction), ` (${fmt(r.confidence)})`),
      el("div", { class: "muted", text: [r.evidence.reason, r.evidence.score !== undefined ? `score ${fmt(r.evidence.score)}` : null,
        r.evidence.cleanlab_rank ? `cleanlab rank ${r.evidence.cleanlab_rank}` : null].filter(Boolean).join(" · ") }));
    card.appendChild(reviewControls(r.id, d.label_names, r.review, r.suggested, (rev) => { card.className = "card issue decision-" + rev.decision; }));
    return card;
  });
  const what = S.issueFlagged ? "flagged issues" : "ranked rows";
  clear(box, el("div", { class: "actions" }, el("strong", { text: "Label review queue" }), el("span", { class: "modes" }, scopeButtons), "show", statusSel,
    el("span", { class: "muted", id: "issues-total", text: `${d.total} ${S.issueStatus === "all" ? "" : S.issueStatus + " "}${what} · ${d.reviewed} reviewed` }),
    el("button", { text: "◀", onclick: () => turn(-page), disabled: S.issueOffset === 0 }),
    el("span", { text: d.rows.length ? `${S.issueOffset + 1}–${S.issueOffset + d.rows.length}` : "0" }),
    el("button", { text: "▶", onclick: () => turn(page), disabled: S.issueOffset + page >= d.total })),
  el("p", { class: "muted", text: "Flagged: the detector says the label is likely wrong; \"all ranked\" lists every row of label_issues by score. Decisions are stored in the run (table reviews); `textlens export-labels RUN --out fixed.csv` writes the data with the relabelled samples fixed." }),
  cards.length ? cards : el("p", { class: "muted", text: S.issueFlagged && everything ? "No flagged issues here: see all ranked rows." : "Nothing to review here." }));
}

// Bars per group with 95% intervals as whiskers, one panel per first group-by value, one shared
// y axis (as report/corpus_plots.py facet_png draws it).
function facetPlot(groups, groupBy, value, name) {
  const [facet, x] = groupBy.length >= 2 ? groupBy : [null, groupBy[0]];
  const byFacet = new Map();
  for (const g of groups) { const k = facet ? name(g[facet]) : "all"; if (!byFacet.has(k)) byFacet.set(k, []); byFacet.get(k).push(g); }
  const withCI = value === "net_per_100" && groups.every((g) => Number.isFinite(g.ci_low) && Number.isFinite(g.ci_high));
  const lo = Math.min(0, ...groups.map((g) => (withCI ? g.ci_low : g[value] ?? 0)));
  const hi = Math.max(0, ...groups.map((g) => (withCI ? g.ci_high : g[value] ?? 0)));
  const ticks = niceTicks(lo, hi);
  const [ymin, ymax] = [Math.min(lo, ticks[0]), Math.max(hi, ticks[ticks.length - 1])];
  const W = 240, H = 160, L = 34, T = 18, B = 18;
  const y = (v) => T + (ymax - v) / ((ymax - ymin) || 1) * (H - T - B);
  const panels = [...byFacet.entries()].map(([title, rows]) => {
    rows.sort((a, b) => (a[x] > b[x] ? 1 : -1));
    const c = el("canvas", { width: W, height: H, title: `${facet ? facet + " " : ""}${shown(title)}` });
    const ctx = c.getContext("2d"), bw = Math.min(40, (W - L - 6) / Math.max(1, rows.length));
    ctx.fillStyle = "#222"; ctx.font = "12px sans-serif"; ctx.fillText(shown(title), L, 12);  // canvas text: never parsed as HTML
    ctx.font = "10px sans-serif"; ctx.textAlign = "right"; ctx.strokeStyle = "#e3e3e3";
    for (const t of ticks) {
      ctx.fillStyle = "#666"; ctx.fillText(fmt(t, 0), L - 4, y(t) + 3);
      ctx.beginPath(); ctx.moveTo(L, y(t)); ctx.lineTo(W - 4, y(t)); ctx.stroke();
    }
    ctx.textAlign = "left"; ctx.strokeStyle = "#555"; ctx.beginPath(); ctx.moveTo(L, y(0)); ctx.lineTo(W - 4, y(0)); ctx.stroke();
    rows.forEach((g, k) => {
      const v = g[value] ?? 0, left = L + 2 + k * bw;
      ctx.fillStyle = v >= 0 ? POSITIVE : NEGATIVE;
      ctx.fillRect(left, Math.min(y(v), y(0)), Math.max(1, bw - 4), Math.abs(y(v) - y(0)));
      if (withCI) {
        const mid = left + (bw - 4) / 2;
        ctx.strokeStyle = "#333"; ctx.beginPath();
        ctx.moveTo(mid, y(g.ci_low)); ctx.lineTo(mid, y(g.ci_high));
        ctx.moveTo(mid - 2, y(g.ci_low)); ctx.lineTo(mid + 2, y(g.ci_low));
        ctx.moveTo(mid - 2, y(g.ci_high)); ctx.lineTo(mid + 2, y(g.ci_high)); ctx.stroke();
      }
      ctx.fillStyle = "#444"; ctx.fillText(shown(String(g[x])).slice(-4), left, H - 4);
    });
    return c;
  });
  const what = value === "net_per_100" ? "net sentiment per 100 sentences (positive − negative)" : value.replace(/_/g, " ");
  return el("div", {}, el("div", { class: "facets" }, panels),
    el("p", { class: "muted", text: `y: ${what}${withCI ? "; whiskers: 95% intervals" : "; no intervals in this run"}.` }));
}

function niceTicks(lo, hi) {
  const span = (hi - lo) || 1, step0 = span / 4, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0);
  const out = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + 1e-9 + step * 0.999; t += step) out.push(Math.round(t / step) * step);
  return out;
}

// The columns read per sampled sentence; the rest stays one click away under "details".
const HIDDEN_META = new Set(["toward_positive", "sentence_id", "doc_id", "stratum"]);

function sentenceMeta(meta, name) {
  const main = ["country", "year", "sentence_label", "label", "sentence_confidence", "confidence"]
    .filter((k) => k in meta).map((k) => (k === "country" ? name(meta[k]) : cell(k, meta[k])));
  const rest = Object.entries(meta).filter(([k]) => !HIDDEN_META.has(k));
  return el("div", { class: "muted sentence-meta" }, main.join(" · "),
    rest.length ? el("details", {}, el("summary", { text: "details" }),
      el("div", { text: rest.map(([k, v]) => `${k} ${fmt(v)}`).join(" · ") })) : null);
}

export async function showCorpus() {
  const box = document.getElementById("view-corpus");
  const d = await getJSON(runPath("corpus"));
  // Group values as the report names them (ISO codes -> country names), when the server sends them.
  const names = d.names || {};
  const name = (v) => names[String(v)] ?? String(v);
  const groups = d.groups.map((g) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, d.group_by.includes(k) ? name(v) : v])));
  const strata = new Map();
  for (const e of d.explanations) { if (!strata.has(e.stratum)) strata.set(e.stratum, []); strata.get(e.stratum).push(e); }
  const sizes = d.stratum_sizes || {};
  const signed = (r) => r.words.map(([w, s, gap]) => [w, s * (r.meta.toward_positive || 1), gap]);
  const nFiles = d.bad_files.length;
  clear(box, el("h3", { text: `corpus: ${d.documents} documents, ${d.sentences} sentences` }),
    el("div", {}, d.labels.map(([l, n]) => el("span", { class: "chip", text: `${l}: ${n}` }))),
    d.value && d.group_by.length ? [el("h3", { text: `${d.value} by ${d.group_by.join(" × ")}` }), facetPlot(d.groups, d.group_by, d.value, name)] : null,
    el("h3", { text: "group aggregates" }), table(groups),
    el("h3", { text: "sampled explanations by stratum" }),
    heatLegend(["towards positive", "towards negative"], [POSITIVE_RGB, NEGATIVE_RGB]),
    [...strata.entries()].map(([stratum, rows]) => el("div", { class: "card" },
      el("h4", {}, data(stratum), sizes[stratum] !== undefined ? ` (${rows.length} of ${sizes[stratum]} sampled sentences)` : ` (first ${rows.length} shown)`),
      rows.map((r) => el("div", { class: "sentence" }, r.words.length ? wordHeatmap(signed(r), [POSITIVE_RGB, NEGATIVE_RGB]) : el("div", { class: "text-block", dir: "auto", text: r.text ?? "" }),
        sentenceMeta(r.meta, name))))),
    el("h3", { text: `${nFiles} ${nFiles === 1 ? "file" : "files"} not read` }), nFiles ? table(d.bad_files) : el("p", { class: "muted", text: "none" }));
}
