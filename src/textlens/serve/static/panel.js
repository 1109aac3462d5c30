// The side panel: the selection's summary and list, and one sample with its label issue,
// explanations and neighbours.
import { setPanel, setSelection, setView } from "./app.js";
import { api, cell, clear, data, download, el, fmt, getJSON, heatLegend, heatmap, markSpans, postJSON, q, table } from "./dom.js";
import { restyle } from "./paint.js";
import { S, debug, runPath } from "./state.js";
import { toURL } from "./url.js";

function compare(label, sel, all, pct) {
  const f = (v) => (v === null || v === undefined ? "–" : pct ? (100 * v).toFixed(1) + "%" : v.toFixed(3));
  return [el("span", { class: "muted", text: label }), el("span", { text: `${f(sel)}  (all: ${f(all)})` })];
}

function mixBars(pairs, total) {
  return el("div", {}, pairs.map(([name, count]) => {
    const b = el("span", { class: "bar" });
    b.style.width = Math.round(120 * count / Math.max(1, total)) + "px";
    return el("div", {}, b, data(name), `: ${count}`);
  }));
}

// The selection for export and Save slice: the server's id for a shape or search, else the
// positions.
const selectionBody = () => (S.selection.id ? { selection: S.selection.id } : { positions: Array.from(S.selection.positions) });

// The summary: `/select` with the shape or search (every point tested on the server, the answer
// carries the selection's id), else `/selection` with the positions.
async function summarise(sel, order) {
  if (sel.shape) {
    const r = await postJSON(runPath("select"), { ...sel.shape, summary: true, ...order });
    return { ...r.summary, count: r.count, total: r.total, selection: r.selection };
  }
  return postJSON(runPath("selection"), { positions: Array.from(sel.positions), ...order });
}

// Fills the panel; returns the summary (null on error or when a newer selection won).
export async function showSelection() {
  const box = document.getElementById("panel-selection"), sel = S.selection;
  if (!sel) { clear(box, el("p", { class: "muted", text: "Nothing selected." })); return null; }
  clear(box, el("p", { class: "muted", text: "Summarising…" }));
  let s;
  try {
    s = await summarise(sel, { sort: S.sort.column, descending: S.sort.descending, limit: 300 });
  } catch (e) { clear(box, el("p", { class: "error", text: e.message })); return null; }
  if (S.selection !== sel) return null;
  debug.lastSummary = s;
  const stats = el("div", { class: "stat" },
    el("span", { class: "muted", text: "selected" }), el("strong", { id: "selection-count", text: `${s.count.toLocaleString()} of ${s.total.toLocaleString()}` }),
    S.selection.label ? [el("span", { class: "muted", text: "by" }), data(S.selection.label)] : null,
    "mean_correct" in s ? compare("accuracy", s.mean_correct, s.overall_correct, true) : null,
    "mean_loss" in s ? compare("mean loss", s.mean_loss, s.overall_loss) : null,
    "mean_f1" in s ? compare("F1", s.mean_f1, s.overall_f1, true) : null);
  const mixes = Object.keys(s).filter((k) => k.startsWith("mix_")).map((k) => el("div", {}, el("h3", { text: k.slice(4).replace("_name", "") }), mixBars(s[k], s.count)));
  const terms = s.terms && s.terms.length ? el("div", {}, el("h3", { text: "distinctive terms" }),
    el("div", {}, s.terms.map((t) => el("span", { class: "chip", dir: "auto", title: `${t.in_selection} selected / ${t.in_rest} other documents`, text: t.term })))) : null;
  const nameInput = el("input", { placeholder: "slice name", size: 14 });
  const exportButtons = ["csv", "jsonl", "parquet"].map((f) => el("button", { text: f.toUpperCase(), onclick: async () => {
    const res = await api(runPath("export"), { ...selectionBody(), format: f });
    download(await res.blob(), `${S.run}-selection.${f}`);
  } }));
  const saveNote = el("span", { class: "muted" });
  const save = el("button", { text: "Save slice", onclick: async () => {
    if (!nameInput.value.trim()) { saveNote.textContent = "name it first"; return; }
    try {
      const r = await postJSON(runPath("saved-slices"), { ...selectionBody(), name: nameInput.value.trim() });
      clear(saveNote, "saved ", data(r.name), ` (${r.size})`);
    } catch (e) { saveNote.textContent = e.message; }
  } });
  const list = table(s.rows, s.rows.length ? Object.keys(s.rows[0]).filter((c) => c !== "position") : [], {
    onRow: (r) => openSample(r.id, true), sortedBy: S.sort,
    onSort: (c) => { S.sort = { column: c, descending: S.sort.column === c ? !S.sort.descending : true }; showSelection(); },
  });
  clear(box, stats, el("div", { class: "actions" }, "export", exportButtons, nameInput, save, saveNote,
    el("button", { text: "Clear", onclick: () => setSelection(null) })), mixes, terms,
    el("h3", { text: `samples (${Math.min(s.rows.length, s.count)} shown)` }), list);
  return s;
}

const decided = (r) => r ? `decided: ${r.decision}${r.new_label ? " → " + r.new_label : ""} (${r.created_at})` : "";

export function reviewControls(sampleId, labels, current, suggested, onDone) {
  const relabel = el("select", {}, labels.map((l) => el("option", { value: l, text: l })));
  if (suggested) relabel.value = suggested;
  const note = el("span", { class: "muted", text: decided(current) });
  const send = async (decision) => {
    try {
      const r = await postJSON(runPath("reviews"), { sample_id: sampleId, decision, new_label: decision === "mislabelled" ? relabel.value : null });
      note.textContent = decided(r);
      delete S.cols.review;  // the map's "review" colour is live
      if (S.color === "review") restyle();
      if (onDone) onDone(r);
    } catch (e) { note.textContent = e.message; }
  };
  return el("div", { class: "actions" },
    el("button", { class: "mislabelled", text: "Mislabelled → relabel to", onclick: () => send("mislabelled") }), labels.length ? relabel : null,
    el("button", { class: "not-an-issue", text: "Not an issue", onclick: () => send("not_an_issue") }),
    el("button", { class: "unsure", text: "Unsure", onclick: () => send("unsure") }), note);
}

export async function openSample(id, push) {
  S.sample = id;
  if (S.view !== "map") setView("map", push); else toURL(push);
  setPanel("sample");
  const box = document.getElementById("panel-sample");
  let d;
  try { d = await getJSON(runPath(`sample?${q({ id })}`)); } catch (e) { clear(box, el("p", { class: "error", text: e.message })); return; }
  const s = d.sample, qa = d.task === "qa";
  if (S.map) { S.map.marked = d.position; S.map.ring(-1); }
  const fields = ["label", "prediction", "confidence", "loss", "correct", "f1", "split", "cluster"].filter((k) => k in s);
  const facts = el("div", { class: "stat" }, fields.map((k) => [el("span", { class: "muted", text: k === "correct" && qa ? "EM" : k }), el("span", { dir: "auto", text: cell(k, s[k]) })]));
  let body;
  if (qa) {
    const ranges = (s.answer_starts || []).map((st, k) => ({ start: st, end: st + s.answers[k].length, cls: "gold" }));
    if (s.pred_start !== undefined && s.pred_start !== null) ranges.push({ start: s.pred_start, end: s.pred_end, cls: "pred" });
    body = [el("h3", { text: "question" }), el("div", { class: "text-block", dir: "auto", text: s.question }),
      el("h3", {}, "context ", el("mark", { class: "gold", text: "gold" }), " ", el("mark", { class: "pred", text: "predicted" })), markSpans(s.context || "", ranges)];
  } else body = [el("div", { class: "text-block", dir: "auto", id: "sample-text", text: s.text })];
  const issue = d.issue ? el("div", { class: "card" }, el("h4", { text: `label issue #${d.issue.rank ?? "?"}${d.issue.kind ? " (" + d.issue.kind + ")" : ""}` }), el("div", { text: d.issue.reason || "" }),
    reviewControls(s.id, d.label_names, d.review, d.issue.suggested)) : null;
  const expBox = el("div", { id: "explanations" });
  const neighbours = el("div", {}, el("h3", { text: "most similar samples" }),
    table(d.neighbours, ["id", qa ? "question" : "text", "label", "prediction", "loss"].filter((c) => !d.neighbours.length || c in d.neighbours[0]), { onRow: (r) => openSample(r.id, true) }));
  clear(box, el("h3", {}, "sample ", data(s.id)), body, facts, issue, expBox, neighbours);
  explanations(expBox, s, qa);
}

// Without a model the server cannot explain: say how to add one, once, instead of an error per
// heatmap. `meta.explain_available` (when the server sends it) saves even the first request.
function noModel(parent, problem) {
  clear(parent, el("div", { class: "card note" }, el("h4", { text: "explanations need the run's model" }),
    problem ? el("p", { text: problem })
      : el("p", {}, "Start the dashboard with the model directory: ", el("code", { text: "textlens serve RUN --model DIR" }),
        " (the folder the run was analysed with)."),
    el("p", { class: "muted", text: "The map, selections, clusters and the review queue work without it." })));
}

async function explanations(parent, s, qa) {
  if (S.meta.explain_available === false) { noModel(parent, S.meta.explain_message); return; }
  for (const kind of ["prediction", "loss"]) {
    const ok = await explanationBlock(parent, s, kind, qa);
    if (!ok) return;
  }
}

// What each method's `steps` count: model evaluations for the perturbation methods, gradient
// rows (forward+backward) for the rest.
const EVALUATED = new Set(["shap", "lime", "occlusion"]);

// The evidence a method brings, in its own terms: IG (and SHAP's efficiency) the completeness
// error, LRP the conservation error and the part its rules absorbed, perturbation methods the
// evaluations they spent.
export function evidence(exp, parts) {
  const out = [];
  if (exp.completeness_error !== null && exp.completeness_error !== undefined) out.push(`completeness error ${fmt(exp.completeness_error, 4)}`);
  const lrp = parts.filter((p) => p.absorbed !== null && p.absorbed !== undefined);
  if (lrp.length) {
    out.push(`conservation error ${fmt(Math.max(...lrp.map((p) => p.conservation_error ?? 0)), 4)}`);
    out.push(`absorbed by the rules ${lrp.map((p) => fmt(p.absorbed, 4)).join(" / ")} of F(input) ${lrp.map((p) => fmt(p.output, 4)).join(" / ")}`);
  }
  if (!out.length) out.push("no completeness check for this method");
  const steps = parts.reduce((a, p) => a + (p.steps || 0), 0);
  const unit = EVALUATED.has(exp.method) ? "model evaluation" : "gradient row";
  out.push(`${steps} ${unit}${steps === 1 ? "" : "s"}`);
  return out;
}

// The method picker of the prediction block: every method the server offers that needs no
// gold label, IG unless the user picked another (kept while moving between samples).
function methodPicker(onPick) {
  const offered = S.meta.explain_methods || [{ name: "ig", description: "integrated gradients" }];
  const pick = el("select", { id: "explain-method", title: "attribution method", onchange: () => { S.explainMethod = pick.value; onPick(); } },
    offered.map((m) => el("option", { value: m.name, title: m.description, text: m.name })));
  pick.value = S.explainMethod || "ig";
  return pick;
}

// One heatmap block; false when the server has no model (the caller stops asking).
async function explanationBlock(parent, s, kind, qa) {
  const block = el("div", { class: "card", id: `explanation-${kind}` });
  parent.appendChild(block);
  const method = () => (kind === "prediction" ? S.explainMethod || "ig" : "loss");
  let picker = null; // set once `compute` exists: picking a method recomputes
  const head = () => el("h4", {}, kind === "prediction" ? "why this prediction, by " : "what drives the loss (loss attribution)", picker);
  const render = (exp) => {
    const parts = qa ? [exp.start, exp.end].filter(Boolean) : [exp];
    clear(block, head(), parts.map((p, k) => el("div", {},
      qa ? el("div", { class: "muted", text: k === 0 ? "answer start" : "answer end" }) : null,
      heatmap(qa ? exp.context : p.text, p.word_spans, p.word_scores, qa ? 1 : undefined))),
    heatLegend(kind === "loss" ? ["raises the loss", "lowers it"] : ["supports the target", "against it"]),
    el("div", { class: "muted evidence", text: [kind === "loss" ? `loss against the gold ${qa ? "answer" : "label"} (${exp.method})` : `target ${qa ? exp.answer : exp.label} (${exp.method})`,
      ...evidence(exp, parts)].join(" · ") }));
  };
  const compute = async (doCompute) => {
    if (doCompute) clear(block, head(), el("p", { class: "muted", text: "computing…" }));
    try {
      const body = { sample_id: s.id, kind, compute: doCompute };
      if (kind === "prediction") body.method = method();
      const r = await postJSON(runPath("explain"), body);
      if (r.explain_available === false && !r.explanation) { noModel(parent, r.explain_message); return false; }
      if (r.explanation) render(r.explanation);
      else clear(block, head(), el("button", { text: "Compute", onclick: () => compute(true) }));
      return true;
    } catch (e) {
      if (e.status === 409) { noModel(parent, e.body && e.body.problem); return false; }
      clear(block, head(), el("p", { class: "error", text: e.message }));
      return true;
    }
  };
  if (kind === "prediction") picker = methodPicker(() => compute(true));
  return compute(false);
}
