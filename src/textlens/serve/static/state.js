// The dashboard's one shared state object, and `debug`: what the page exposes as
// window.textlens for the browser tests, benchmarks and the console (timing marks, the map, the
// last selection summary). No other module keeps page-wide state.

export const S = {
  runs: [], run: null, meta: null, cols: {}, view: "map", sample: null,
  color: null, size: null, filters: [], selection: null, visible: null,
  sort: { column: "loss", descending: true }, issueStatus: "open", issueFlagged: true, issueOffset: 0, map: null,
  explainMethod: "ig",  // the sample view's method picker, kept between samples
};

export const debug = { state: S, drawnAt: null };
window.textlens = debug;

// An API path under the open run.
export const runPath = (p) => `runs/${encodeURIComponent(S.run)}/${p}`;
