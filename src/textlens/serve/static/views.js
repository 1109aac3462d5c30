// Views: selection panel, sample view, clusters & slices, label review queue, corpus run.
"use strict";

const runPath = (p) => `runs/${encodeURIComponent(S.run)}/${p}`;

function compare(label, sel, all, pct) {
  const f = (v) => (v === null || v === undefined ? "–" : pct ? (100 * v).toFixed(1) + "%" : v.toFixed(3));
  return [el("span", { class: "muted", text: label }), el("span", { text: `${f(sel)}  (all: ${f(all)})` })];
}

function mixBars(pairs, total) {
  return el("div", {}, pairs.map(([name, count]) => el("div", {},
    (() => { const b = el("span", { class: "bar" }); b.style.width = Math.round(120 * count / Math.max(1, total)) + "px"; return b; })(),
    `${name}: ${count}`)));
}

async function showSelection(label) {
  const box = document.getElementById("panel-selection");
  if (!S.selection) { clear(box, el("p", { class: "muted", text: "Nothing selected." })); return; }
  clear(box, el("p", { class: "muted", text: "Summarising…" }));
  let s;
  try {
    s = await postJSON(runPath("selection"), { positions: Array.from(S.selection), sort: S.sort.column, descending: S.sort.descending, limit: 300 });
  } catch (e) { clear(box, el("p", { class: "error", text: e.message })); return; }
  window.textlens.lastSummary = s;
  const stats = el("div", { class: "stat" },
    el("span", { class: "muted", text: "selected" }), el("strong", { id: "selection-count", text: `${s.count.toLocaleString()} of ${s.total.toLocaleString()}` }),
    "mean_correct" in s ? compare("accuracy", s.mean_correct, s.overall_correct, true) : null,
    "mean_loss" in s ? compare("mean loss", s.mean_loss, s.overall_loss) : null,
    "mean_f1" in s ? compare("F1", s.mean_f1, s.overall_f1, true) : null);
  const mixes = Object.keys(s).filter((k) => k.startsWith("mix_")).map((k) => el("div", {}, el("h3", { text: k.slice(4).replace("_name", "") }), mixBars(s[k], s.count)));
  const terms = s.terms.length ? el("div", {}, el("h3", { text: "distinctive terms" }),
    el("div", {}, s.terms.map((t) => el("span", { class: "chip", title: `${t.in_selection} selected / ${t.in_rest} other documents`, text: t.term })))) : null;
  const nameInput = el("input", { placeholder: "slice name", size: 14 });
  const exportButtons = ["csv", "jsonl", "parquet"].map((f) => el("button", { text: f.toUpperCase(), onclick: async () => {
    const res = await api(runPath("export"), { positions: Array.from(S.selection), format: f });
    download(await res.blob(), `${S.run}-selection.${f}`);
  } }));
  const saveNote = el("span", { class: "muted" });
  const save = el("button", { text: "Save slice", onclick: async () => {
    if (!nameInput.value.trim()) { saveNote.textContent = "name it first"; return; }
    try { const r = await postJSON(runPath("saved-slices"), { name: nameInput.value.trim(), positions: Array.from(S.selection) });
      saveNote.textContent = `saved "${r.name}" (${r.size})`; } catch (e) { saveNote.textContent = e.message; }
  } });
  const list = table(s.rows, s.rows.length ? Object.keys(s.rows[0]).filter((c) => c !== "position") : [], {
    onRow: (r) => openSample(r.id, true), sortedBy: S.sort,
    onSort: (c) => { S.sort = { column: c, descending: S.sort.column === c ? !S.sort.descending : true }; showSelection(label); },
  });
  clear(box, stats, el("div", { class: "actions" }, "export", exportButtons, nameInput, save, saveNote,
    el("button", { text: "Clear", onclick: () => setSelection(null) })), mixes, terms,
    el("h3", { text: `samples (${Math.min(s.rows.length, s.count)} shown)` }), list);
}

function reviewControls(sampleId, labels, current, suggested, onDone) {
  const relabel = el("select", {}, labels.map((l) => el("option", { value: l, text: l })));
  if (suggested) relabel.value = suggested;
  const note = el("span", { class: "muted", text: current ? `decided: ${current.decision}${current.new_label ? " → " + current.new_label : ""} (${current.created_at})` : "" });
  const send = async (decision) => {
    try {
      const r = await postJSON(runPath("reviews"), { sample_id: sampleId, decision, new_label: decision === "mislabelled" ? relabel.value : null });
      note.textContent = `decided: ${r.decision}${r.new_label ? " → " + r.new_label : ""} (${r.created_at})`;
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

async function openSample(id, push) {
  S.sample = id;
  if (S.view !== "map") setView("map", push); else toURL(push);
  setPanel("sample");
  const box = document.getElementById("panel-sample");
  let d;
  try { d = await getJSON(runPath(`sample?${q({ id })}`)); } catch (e) { clear(box, el("p", { class: "error", text: e.message })); return; }
  const s = d.sample, qa = d.task === "qa";
  if (S.map) { S.map.marked = d.position; S.map.ring(-1); }
  const fields = ["label_name", "label", "prediction", "confidence", "loss", "correct", "f1", "split", "cluster"].filter((k) => k in s && !(k === "label" && "label_name" in s));
  const facts = el("div", { class: "stat" }, fields.map((k) => [el("span", { class: "muted", text: k === "correct" && qa ? "EM" : k }), el("span", { text: fmt(s[k]) })]));
  let body;
  if (qa) {
    const ranges = (s.answer_starts || []).map((st, k) => ({ start: st, end: st + s.answers[k].length, cls: "gold" }));
    if (s.pred_start !== undefined && s.pred_start !== null) ranges.push({ start: s.pred_start, end: s.pred_end, cls: "pred" });
    body = [el("h3", { text: "question" }), el("div", { class: "text-block", text: s.question }),
      el("h3", {}, "context ", el("mark", { class: "gold", text: "gold" }), " ", el("mark", { class: "pred", text: "predicted" })), markSpans(s.context || "", ranges)];
  } else body = [el("div", { class: "text-block", id: "sample-text", text: s.text })];
  const issue = d.issue ? el("div", { class: "card" }, el("h4", { text: `label issue #${d.issue.rank ?? "?"}${d.issue.kind ? " (" + d.issue.kind + ")" : ""}` }), el("div", { text: d.issue.reason || "" }),
    reviewControls(s.id, d.label_names, d.review, d.issue.suggested)) : null;
  const expBox = el("div", { id: "explanations" });
  const neighbours = el("div", {}, el("h3", { text: "most similar samples" }),
    table(d.neighbours, ["id", qa ? "question" : "text", "label_name", "prediction", "loss"].filter((c) => !d.neighbours.length || c in d.neighbours[0]), { onRow: (r) => openSample(r.id, true) }));
  clear(box, el("h3", { text: `sample ${s.id}` }), body, facts, issue, expBox, neighbours);
  for (const kind of ["prediction", "loss"]) explanationBlock(expBox, s, kind, qa);
}

function explanationBlock(parent, s, kind, qa) {
  const block = el("div", { class: "card" });
  parent.appendChild(block);
  const title = kind === "prediction" ? "why this prediction (integrated gradients)" : "what drives the loss (loss attribution)";
  const render = (exp) => {
    const parts = qa ? [exp.start, exp.end].filter(Boolean) : [exp];
    clear(block, el("h4", { text: title }), parts.map((p, k) => el("div", {},
      qa ? el("div", { class: "muted", text: k === 0 ? "answer start" : "answer end" }) : null,
      heatmap(qa ? exp.context : p.text, p.word_spans, p.word_scores, qa ? 1 : undefined))),
      el("div", { class: "muted", text: [kind === "loss" ? `loss against the gold ${qa ? "answer" : "label"} (${exp.method})` : `target ${qa ? exp.answer : exp.label} (${exp.method})`,
        exp.completeness_error === null || exp.completeness_error === undefined ? "no completeness check for this method" : `completeness error ${fmt(exp.completeness_error, 4)}`,
        `${parts.reduce((a, p) => a + (p.steps || 0), 0)} gradient rows`, "blue: raises it, red: lowers it"].join(" · ") }));
  };
  const compute = async (doCompute) => {
    if (doCompute) clear(block, el("h4", { text: title }), el("p", { class: "muted", text: "computing…" }));
    try {
      const r = await postJSON(runPath("explain"), { sample_id: s.id, kind, compute: doCompute });
      if (r.explanation) render(r.explanation);
      else clear(block, el("h4", { text: title }), el("button", { text: "Compute", onclick: () => compute(true) }));
    } catch (e) { clear(block, el("h4", { text: title }), el("p", { class: "error", text: e.message })); }
  };
  compute(false);
}

async function showClusters() {
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

async function showIssues() {
  const box = document.getElementById("view-issues");
  const d = await getJSON(runPath(`issues?${q({ status: S.issueStatus, offset: S.issueOffset, limit: 25 })}`));
  const statusSel = el("select", { onchange: (e) => { S.issueStatus = e.target.value; S.issueOffset = 0; toURL(false); showIssues(); } },
    ["open", "reviewed", "all"].map((v) => el("option", { value: v, text: v })));
  statusSel.value = S.issueStatus;
  const page = (delta) => { S.issueOffset = Math.max(0, S.issueOffset + delta); showIssues(); };
  const cards = d.rows.map((r) => {
    const card = el("div", { class: "card issue" + (r.review ? " decision-" + r.review.decision : ""), "data-id": r.id },
      el("h4", {}, `#${r.evidence.rank ?? "?"} `, el("span", { class: "link", text: r.id, onclick: () => openSample(r.id, true) }),
        r.evidence.kind ? el("span", { class: "chip", text: r.evidence.kind }) : null),
      el("div", { class: "text-block issue-text", text: r.text ?? "" }),
      el("div", { text: `given: ${fmt(r.given)} · suggested: ${fmt(r.suggested)} · model: ${fmt(r.prediction)} (${fmt(r.confidence)})` }),
      el("div", { class: "muted", text: [r.evidence.reason, r.evidence.score !== undefined ? `score ${fmt(r.evidence.score)}` : null,
        r.evidence.cleanlab_rank ? `cleanlab rank ${r.evidence.cleanlab_rank}` : null].filter(Boolean).join(" · ") }));
    card.appendChild(reviewControls(r.id, d.label_names, r.review, r.suggested, (rev) => { card.className = "card issue decision-" + rev.decision; }));
    return card;
  });
  clear(box, el("div", { class: "actions" }, el("strong", { text: "Label review queue" }), "show", statusSel,
    el("span", { class: "muted", text: `${d.total} issues · ${d.reviewed} reviewed` }),
    el("button", { text: "◀", onclick: () => page(-25), disabled: S.issueOffset === 0 }),
    el("span", { text: `${S.issueOffset + 1}–${S.issueOffset + d.rows.length}` }),
    el("button", { text: "▶", onclick: () => page(25), disabled: S.issueOffset + 25 >= d.total })),
  el("p", { class: "muted", text: "Decisions are stored in the run (table reviews); `textlens export-labels RUN --out fixed.csv` writes the data with the relabelled samples fixed." }),
  cards.length ? cards : el("p", { class: "muted", text: "Nothing to review here." }));
}

function facetPlot(groups, groupBy, value) {
  const [facet, x] = groupBy.length >= 2 ? groupBy : [null, groupBy[0]];
  const byFacet = new Map();
  for (const g of groups) { const k = facet ? String(g[facet]) : "all"; if (!byFacet.has(k)) byFacet.set(k, []); byFacet.get(k).push(g); }
  const max = Math.max(1e-9, ...groups.map((g) => Math.abs(g[value] ?? 0)));
  return el("div", { class: "facets" }, [...byFacet.entries()].map(([name, rows]) => {
    rows.sort((a, b) => (a[x] > b[x] ? 1 : -1));
    const W = 220, H = 140, c = el("canvas", { width: W, height: H, title: `${facet || ""} ${name}` });
    const ctx = c.getContext("2d"), bw = (W - 20) / Math.max(1, rows.length);
    ctx.fillStyle = "#222"; ctx.font = "12px sans-serif"; ctx.fillText(name, 4, 12);  // canvas text: never parsed as HTML
    ctx.fillStyle = "#888"; ctx.font = "10px sans-serif"; ctx.fillText(`±${fmt(max, 1)}`, W - 44, 12);
    ctx.strokeStyle = "#999"; ctx.beginPath(); ctx.moveTo(10, H / 2 + 6); ctx.lineTo(W - 10, H / 2 + 6); ctx.stroke();
    rows.forEach((g, k) => {
      const v = g[value] ?? 0, h = (Math.abs(v) / max) * (H / 2 - 22);
      ctx.fillStyle = v >= 0 ? "#2f6fd6" : "#d64545";
      ctx.fillRect(12 + k * bw, v >= 0 ? H / 2 + 6 - h : H / 2 + 6, bw - 4, h);
      ctx.fillStyle = "#444"; ctx.font = "10px sans-serif"; ctx.fillText(String(g[x]).slice(-4), 12 + k * bw, H - 2);
    });
    return c;
  }));
}

async function showCorpus() {
  const box = document.getElementById("view-corpus");
  const d = await getJSON(runPath("corpus"));
  const strata = new Map();
  for (const e of d.explanations) { if (!strata.has(e.stratum)) strata.set(e.stratum, []); strata.get(e.stratum).push(e); }
  clear(box, el("h3", { text: `corpus: ${d.documents} documents, ${d.sentences} sentences` }),
    el("div", {}, d.labels.map(([l, n]) => el("span", { class: "chip", text: `${l}: ${n}` }))),
    d.value && d.group_by.length ? [el("h3", { text: `${d.value} by ${d.group_by.join(" × ")}` }), facetPlot(d.groups, d.group_by, d.value)] : null,
    el("h3", { text: "group aggregates" }), table(d.groups),
    el("h3", { text: "sampled explanations by stratum" }),
    [...strata.entries()].map(([name, rows]) => el("div", { class: "card" }, el("h4", { text: `${name} (${rows.length})` }),
      rows.map((r) => el("div", {}, r.words.length ? wordHeatmap(r.words) : el("div", { class: "text-block", text: r.text ?? "" }),
        el("div", { class: "muted", text: Object.entries(r.meta).map(([k, v]) => `${k} ${fmt(v)}`).join(" · ") }))))),
    el("h3", { text: `files not read (${d.bad_files.length})` }), d.bad_files.length ? table(d.bad_files) : el("p", { class: "muted", text: "none" }));
}
