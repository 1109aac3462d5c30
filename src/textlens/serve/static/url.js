// Every view has a URL: the state <-> the query string.
import { S } from "./state.js";

export function fromURL() {
  const p = new URLSearchParams(location.search);
  return {
    run: p.get("run"), view: p.get("view"), sample: p.get("sample"), color: p.get("color"),
    size: p.get("size"), status: p.get("status"), flagged: p.get("issues") !== "all",
    filters: [...p.getAll("f").map((f) => ({ type: "eq", column: f.split(":")[0], value: f.slice(f.indexOf(":") + 1) })),
      ...p.getAll("r").map((r) => {
        const [c, range] = [r.slice(0, r.lastIndexOf(":")), r.slice(r.lastIndexOf(":") + 1)];
        const [lo, hi] = range.split("..");
        return { type: "range", column: c, low: lo === "" ? null : +lo, high: hi === "" ? null : +hi };
      })],
  };
}

export function toURL(push) {
  const p = new URLSearchParams();
  if (S.run) p.set("run", S.run);
  if (S.view !== "map") p.set("view", S.view);
  if (S.sample) p.set("sample", S.sample);
  if (S.meta && S.color && S.color !== S.meta.default_color) p.set("color", S.color);
  if (S.meta && S.size !== S.meta.default_size) p.set("size", S.size || "none");
  if (S.view === "issues" && S.issueStatus !== "open") p.set("status", S.issueStatus);
  if (S.view === "issues" && !S.issueFlagged) p.set("issues", "all");
  for (const f of S.filters) {
    if (f.type === "eq") p.append("f", `${f.column}:${f.value}`);
    else p.append("r", `${f.column}:${f.low ?? ""}..${f.high ?? ""}`);
  }
  const url = "?" + p.toString();
  if (url !== location.search) (push ? history.pushState : history.replaceState).call(history, null, "", url);
}

export function status(text, isError) {
  const s = document.getElementById("status");
  s.textContent = text || ""; s.className = isError ? "error" : "muted";
}
