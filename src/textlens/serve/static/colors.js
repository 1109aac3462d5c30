// Every colour with a meaning, named once, and the same as the static reports' so a run reads
// the same in its HTML report, its PNGs and the dashboard.

// Categorical map colours: report/maps.py PALETTE, given to the most frequent categories first;
// correct/wrong fixed; the rest OTHER (report/maps.py category_colours).
export const CATEGORY_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
  "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"];
export const OTHER = "#d0d0d0";
export const CORRECT = "#2ca02c";
export const WRONG = "#d62728";
export const MISSING_RGB = [180, 180, 180];   // no value in the colour column
export const FILTERED_RGB = [205, 205, 205];  // filtered out (not selectable)

// Attribution heatmaps: report/attribution_html.py and report/plots.py (green supports the
// target, red works against it).
export const SUPPORTS_RGB = [22, 163, 74];
export const AGAINST_RGB = [220, 38, 38];

// Corpus sentiment: report/corpus_plots.py POSITIVE / NEGATIVE.
export const POSITIVE = "#15803d";
export const NEGATIVE = "#b91c1c";
export const POSITIVE_RGB = [21, 128, 61];
export const NEGATIVE_RGB = [185, 28, 28];

// Numeric columns: viridis over the 1st-99th percentile.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

export function hexRGB(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [v >> 16, (v >> 8) & 255, v & 255];
}

export function ramp(t) {
  t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i;
  return VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
}

export const rgba = ([r, g, b], a) => `rgba(${r},${g},${b},${a})`;

// Category display names as the report writes them (correct -> correct/wrong, cluster -1 ->
// noise); the filter keeps the stored value.
export function categoryName(column, value) {
  if (column === "correct") return { 1: "correct", true: "correct", 0: "wrong", false: "wrong" }[value] ?? value;
  if (column === "cluster") return value === "-1" ? "noise" : `cluster ${value}`;
  return value;
}

// A colour per category code, as report/maps.py category_colours assigns them: the palette in
// order of frequency (clusters in id order), correct/wrong fixed, the rest OTHER.
// `codes`: the column's Uint16 codes (0xFFFF = missing). Returns [hex per code, legend order].
export function categoryColours(column, categories, codes) {
  const counts = new Float64Array(categories.length);
  for (let i = 0; i < codes.length; i++) if (codes[i] < counts.length) counts[codes[i]]++;
  let top = categories.map((_, k) => k).filter((k) => counts[k] > 0)
    .sort((a, b) => counts[b] - counts[a] || a - b).slice(0, CATEGORY_PALETTE.length);
  if (column === "cluster") top.sort((a, b) => Number(categories[a]) - Number(categories[b]));
  const colours = categories.map(() => OTHER);
  top.forEach((k, rank) => { colours[k] = CATEGORY_PALETTE[rank]; });
  if (column === "correct") {
    categories.forEach((c, k) => {
      const name = categoryName(column, c);
      if (name === "correct") colours[k] = CORRECT;
      else if (name === "wrong") colours[k] = WRONG;
    });
    top = top.slice().sort((a, b) => (categoryName(column, categories[a]) === "correct" ? -1 : 1) - (categoryName(column, categories[b]) === "correct" ? -1 : 1));
  }
  return [colours, top];
}
