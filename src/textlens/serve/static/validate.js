// The corpus Validate view: label the run's validation sample one sentence at a time, in its
// context (the sentence before and after), with the classes as buttons and keys 1..9, unsure
// (u), skip (s), undo (z or Backspace), previous / next (arrow keys) and the model's
// prediction hidden until asked for (p): a label read beside the prediction anchors on it.
// Every decision is recorded on the server at once (append-only; undo clears or restores the
// previous label), so a reload, a restart or a rerun of `corpus` loses nothing. Below it, the
// Compare panel: this run against another served corpus run. Text enters as text nodes only.
import { clear, el, fmt, getJSON, postJSON, table } from "./dom.js";

const V = { run: null, data: null, index: 0, undo: [], prediction: null, busy: false, box: null };
window.textlensValidate = V;  // for the browser tests and the console

const path = (p) => `runs/${encodeURIComponent(V.run)}/${p}`;

const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);
const interval = (b, signed) => `${signed && b.value >= 0 ? "+" : ""}${fmt(b.value)} (95% interval ${fmt(b.ci_low)} to ${fmt(b.ci_high)})`;

// Open the view for `run` in `box`; `runs`: every served run (for the Compare panel).
export async function renderValidate(box, run, runs = []) {
  V.box = box;
  if (V.run !== run) Object.assign(V, { run, undo: [], prediction: null, index: null });
  clear(box, el("p", { class: "muted", text: "Loading the validation sample…" }));
  try { V.data = await getJSON(path("validation")); } catch (e) { clear(box, el("p", { class: "error", text: e.message })); return; }
  const others = runs.filter((r) => r.kind === "corpus" && r.name !== run);
  if (!V.data.total) {
    clear(box, el("h3", { text: V.data.message }), el("p", {}, "To draw one: ", el("code", { text: V.data.fix })),
      others.length ? comparePanel(others) : null);
    return;
  }
  if (V.index === null) V.index = nextOpen(-1);
  clear(box, el("div", { id: "validate-main" }), measurePanel(), others.length ? comparePanel(others) : null);
  draw();
}

function nextOpen(from) {
  const items = V.data.items;
  for (let k = 1; k <= items.length; k++) {
    const i = (from + k) % items.length;
    if (items[i].label === null) return i;
  }
  return Math.max(0, Math.min(items.length - 1, from + 1));
}

function progress() {
  const { total, labelled, unsure_or_skipped: unsure } = V.data;
  const bar = el("div", { class: "validate-bar" }, el("span", { style: { width: `${(100 * labelled) / total}%` } }));
  return el("div", { class: "validate-progress" },
    el("strong", { id: "validate-progress", text: `${labelled} of ${total} labelled` }),
    unsure ? el("span", { class: "muted", text: ` (${unsure} unsure or skipped)` }) : null, bar);
}

function draw() {
  const main = document.getElementById("validate-main");
  if (!main) return;
  const item = V.data.items[V.index];
  const group = Object.entries(item.group || {}).map(([k, v]) => el("span", { class: "chip", text: `${k} ${v}` }));
  const keys = V.data.classes.map((c, k) => el("button", {
    class: "validate-class" + (item.label === c ? " chosen" : ""), "data-label": c,
    title: `key ${k + 1}`, onclick: () => decide(c) }, el("kbd", { text: String(k + 1) }), " ", c));
  const reserved = [["unsure", "u"], ["skip", "s"]].map(([r, key]) => el("button", {
    class: "validate-reserved" + (item.label === r ? " chosen" : ""), "data-label": r, title: `key ${key}`,
    onclick: () => decide(r) }, el("kbd", { text: key }), " ", r));
  const prediction = V.prediction && V.prediction.validation_id === item.validation_id
    ? el("span", { id: "validate-prediction", text: `model: ${V.prediction.predicted} (${fmt(V.prediction.confidence, 2)})` })
    : el("button", { id: "validate-show-prediction", title: "key p", onclick: showPrediction }, el("kbd", { text: "p" }), " show the model's prediction");
  clear(main, el("h3", { text: "Validate: label the sampled sentences" }), progress(),
    el("div", { class: "card validate-card", "data-id": item.validation_id },
      el("div", { class: "muted" }, `#${item.draw} `, group, item.label ? el("span", { class: "chip", id: "validate-current", text: `labelled: ${item.label}` }) : null),
      item.context_before ? el("p", { class: "validate-context", text: item.context_before }) : null,
      el("p", { class: "validate-text", id: "validate-text", dir: "auto", text: item.text }),
      item.context_after ? el("p", { class: "validate-context", text: item.context_after }) : null),
    el("div", { class: "actions validate-keys" }, keys, reserved),
    el("div", { class: "actions" },
      el("button", { id: "validate-prev", title: "key ←", onclick: () => move(-1) }, "◀ previous"),
      el("button", { id: "validate-next", title: "key →", onclick: () => move(1) }, "next ▶"),
      el("button", { id: "validate-undo", title: "key z or Backspace", disabled: !V.undo.length, onclick: undo }, el("kbd", { text: "z" }), " undo"),
      prediction),
    el("p", { class: "muted", id: "validate-note", text: `Keys: 1–${V.data.classes.length} a class, u unsure, s skip, z undo, ← → move, p prediction. Decisions are saved in the run (table validation_labels) as you go.` }),
    V.data.outside_sample ? el("p", { class: "muted", text: `${V.data.outside_sample} labels were given outside the drawn sample (a convenience sample: the estimates say so).` }) : null);
}

async function send(item, label) {
  const r = await postJSON(path("validation/label"), { validation_id: item.validation_id, label });
  item.label = r.label;
  Object.assign(V.data, { labelled: r.labelled, unsure_or_skipped: r.unsure_or_skipped });
}

async function decide(label) {
  if (V.busy) return;
  V.busy = true;
  const item = V.data.items[V.index];
  try {
    const before = item.label;
    await send(item, label);
    V.undo.push({ index: V.index, label: before });
    V.index = nextOpen(V.index);
  } catch (e) { note(e.message); } finally { V.busy = false; }
  draw();
}

async function undo() {
  if (V.busy || !V.undo.length) return;
  V.busy = true;
  const last = V.undo.pop();
  try {
    await send(V.data.items[last.index], last.label);  // null clears: the append-only undo
    V.index = last.index;
  } catch (e) { V.undo.push(last); note(e.message); } finally { V.busy = false; }
  draw();
}

function move(delta) {
  const n = V.data.items.length;
  V.index = (V.index + delta + n) % n;
  draw();
}

async function showPrediction() {
  const item = V.data.items[V.index];
  try { V.prediction = await getJSON(path(`validation/prediction?id=${encodeURIComponent(item.validation_id)}`)); } catch (e) { note(e.message); }
  draw();
}

function note(text) {
  const n = document.getElementById("validate-note");
  if (n) { n.textContent = text; n.className = "error"; }
}

document.addEventListener("keydown", (e) => {
  if (!V.box || V.box.hidden || !V.data || !V.data.total || e.ctrlKey || e.metaKey || e.altKey) return;
  if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement && document.activeElement.tagName)) return;
  const k = Number(e.key);
  if (Number.isInteger(k) && k >= 1 && k <= Math.min(9, V.data.classes.length)) decide(V.data.classes[k - 1]);
  else if (e.key === "u") decide("unsure");
  else if (e.key === "s") decide("skip");
  else if (e.key === "z" || e.key === "Backspace") undo();
  else if (e.key === "ArrowRight") move(1);
  else if (e.key === "ArrowLeft") move(-1);
  else if (e.key === "p") showPrediction();
  else return;
  e.preventDefault();
});

// Measure: the model on the labels given so far, beside its own validation split's figures.
function measurePanel() {
  const out = el("div", { id: "measure-result" });
  const go = el("button", { id: "measure-go", onclick: async () => {
    clear(out, el("p", { class: "muted", text: "Measuring (bootstrap)…" }));
    try { showMeasures(out, await getJSON(path("validation/measure"))); } catch (e) { clear(out, el("p", { class: "error", text: e.message })); }
  } }, "Measure");
  return el("div", { class: "card", id: "measure-panel" }, el("h3", { text: "The model on your labels" }),
    el("div", { class: "actions" }, go, el("span", { class: "muted", text: "accuracy, per-class precision / recall / F1 with 95% intervals (design-weighted), beside the model's own validation split" })), out);
}

function showMeasures(out, d) {
  const tuned = d.finetuned;
  const warning = tuned ? el("p", { class: "error", id: "measure-in-sample", text: `This model was fine-tuned on ${tuned.labels_used} labels of ${tuned.corpus_run}: on those sentences the figures below are in-sample (optimistic). Out of fold (${tuned.folds}-fold cross-fitting): accuracy ${fmt(tuned.accuracy)}, macro F1 ${fmt(tuned.macro_f1)}${tuned.change_from_init ? `, change from the model it started from ${interval(tuned.change_from_init, true)}` : ""}.` }) : null;
  if (d.too_few) { clear(out, warning, el("p", { id: "measure-too-few", text: `Not measured yet: ${d.too_few}.` })); return; }
  const rows = d.metrics.map((m) => ({ classifier: m.classifier, metric: m.metric, class: m.class,
    value: m.value === null ? "–" : `${fmt(m.value)} [${fmt(m.ci_low)}, ${fmt(m.ci_high)}]`, labels: m.n, note: m.note }));
  clear(out, warning, el("p", { class: "muted", text: d.message }), table(rows));
}

// Compare: this run (A) against another served run (B) over the same corpus.
function comparePanel(others) {
  const pick = el("select", { id: "compare-with" }, others.map((r) => el("option", { value: r.name, text: r.name })));
  const out = el("div", { id: "compare-result" });
  const go = el("button", { id: "compare-go", onclick: async () => {
    clear(out, el("p", { class: "muted", text: "Comparing (corrections are bootstrapped: this takes a while)…" }));
    try { showComparison(out, await getJSON(path(`compare?other=${encodeURIComponent(pick.value)}`))); } catch (e) { clear(out, el("p", { class: "error", text: e.message })); }
  } }, "Compare");
  return el("div", { class: "card", id: "compare-panel" }, el("h3", { text: "Compare with another run of the same corpus" }),
    el("div", { class: "actions" }, `A = ${V.run}, B =`, pick, go), out);
}

function showComparison(out, d) {
  const acc = d.accuracy;
  const accuracy = acc
    ? el("p", { id: "compare-accuracy", text: `Accuracy on the same ${acc.n} labelled sentences (design-weighted): A ${interval(acc.accuracy_a)}, B ${interval(acc.accuracy_b)}; change B − A ${interval(acc.change, true)} (paired bootstrap).` })
    : el("p", { id: "compare-accuracy", class: "muted", text: d.accuracy_source });
  const shares = d.shares.map((r) => ({ ...Object.fromEntries(d.by.map((c) => [c, r[c]])), class: r.class, method: r.method,
    A: r.share_a === null ? (r.too_few_a ? "too few labels" : "–") : `${pct(r.share_a)} [${pct(r.ci_low_a)}, ${pct(r.ci_high_a)}]`,
    B: r.share_b === null ? (r.too_few_b ? "too few labels" : "–") : `${pct(r.share_b)} [${pct(r.ci_low_b)}, ${pct(r.ci_high_b)}]` }));
  clear(out, d.notes.map((n) => el("p", { class: "muted", text: n })), accuracy,
    acc ? el("p", { class: "muted", text: d.accuracy_source }) : null,
    el("h4", { text: `${d.n_flipped} of ${d.n_sentences} sentences changed label` }),
    table(d.flips.map((f) => ({ "A said": f.label_a, "B says": f.label_b, sentences: f.n }))),
    el("h4", { text: "examples" }), table(d.examples.map((x) => ({ text: x.text, A: x.label_a, B: x.label_b }))),
    el("h4", { text: "shares per group: naive and corrected (95% intervals)" }),
    el("p", { class: "muted", text: `A: ${d.shares_message_a}` }), el("p", { class: "muted", text: `B: ${d.shares_message_b}` }),
    table(shares));
}
