"""Likely label errors, ranked, each with a kind and a plain-words reason.

Laid out as cleanlab's Datalab issue managers: one class per issue type, registered by its
`issue_name` (`base`), one module per task composing its types into ranked `LabelIssue`s:

- `classification`: `wrong class` (noise posterior of the model and two heads fitted on the
  data's own labels) and `near-duplicate conflict`; `classification_issues`.
- `qa`: `wrong span`, `swapped answer`, `wrong boundary` (logistic models whose weights are
  stored by feature name in `qa_weights`) and `ambiguous`; `qa_label_issues`.
- `signals` (classification arrays), `qa_signals` (per-question QA signals and their named
  features), `text` (content words, sentences, text-only QA signals), `reasons` (the text).

`registry.list_issue_types()` lists the registered types; `registry.get_issue_type(name)`
refuses unknown names with that list. Benchmark ablations compose the types in bench/label_noise.py, not here.
"""
