"""The shim's bridge to the textlens attribution engine: a text (or a pair of texts), a class, and
word or position embeddings in; an `Attributions` value out. Integrated gradients come from the
engine's "ig" method (adaptive and certified by default, `n_steps=N` for N Gauss-Legendre nodes,
Captum's rule); no Captum is involved.

What transformers-interpret does and `textlens.explain` does not is built here on the engine's
pieces (`encode`, `Runner`, `Job`, the registry's "ig"), not by changing the engine:

* text pairs (cross-encoders): encoded as the engine encodes a QA pair, shown as one text;
* single-logit models (cross-encoders): sigmoid(z), as upstream, whatever the config's
  `problem_type` says (the engine reads one logit by sigmoid too, `models.heads`, but refuses a
  probability for `problem_type="regression"`; upstream explains sigmoid(z) there as well);
* token types passed only to a model whose forward names them (not DistilBERT's);
* position-embedding attributions (`embedding_type=1`): IG over the position embeddings from
  "every token at position 0" (transformers-interpret's baseline) to the real positions, word
  embeddings held at the input's, as Captum's LayerIntegratedGradients does.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from textlens.attribution.aggregate import char_scores, word_scores
from textlens.attribution.encoding import Encoded, encode
from textlens.attribution.explanation import Explanation
from textlens.attribution.registry import Job, RawAttribution, get_method
from textlens.attribution.runner import Runner, frozen
from textlens.attribution.targets import classification_targets
from textlens.errors import InputError
from textlens.models.heads import HeadKind, class_names, probabilities
from textlens.models.loading import LoadedModel

Embedding = Literal["word", "position"]
DEFAULT_TOKENS_PER_PASS = 4096


@dataclass(frozen=True)
class Attributions:
    """One explained input in transformers-interpret's terms. `explanation` is the textlens value
    (raw scores, words, completeness error, `to_html()`); the rest is what the explainer's
    properties read. Scores are of `probabilities[selected_index]` (for a single-logit model,
    of sigmoid(logit), or 1 - sigmoid when `flipped`)."""

    explanation: Explanation
    input_ids: tuple[int, ...]
    baseline_ids: tuple[int, ...]
    probabilities: tuple[float, ...]  # softmax over the classes; (sigmoid,) for one logit
    predicted_index: int
    selected_index: int
    embedding: Embedding = "word"
    flipped: bool = False

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(t.replace("Ġ", "") for t in self.explanation.tokens)

    @property
    def attributions_sum(self) -> tuple[float, ...]:
        """Per-token scores divided by their L2 norm (transformers-interpret's view)."""
        return self.explanation.l2_scores

    @property
    def word_attributions(self) -> list[tuple[str, float]]:
        return list(zip(self.tokens, self.attributions_sum, strict=True))

    @property
    def delta(self) -> float | None:
        """Completeness gap sum(raw scores) - (F(input) - F(baseline)), Captum's convergence
        delta (the relative gap is `explanation.completeness_error`)."""
        e = self.explanation
        if e.output is None or e.baseline_output is None:
            return None
        return e.attribution_score - (e.output - e.baseline_output)

    @property
    def pred_prob(self) -> float:
        """The probability the scores explain (sigmoid of the one logit for such models)."""
        probs = self.probabilities
        return probs[0] if len(probs) == 1 else probs[self.selected_index]


def accepts(model: Any, parameter: str) -> bool:
    return parameter in inspect.signature(model.forward).parameters


def position_table(model: Any) -> torch.nn.Embedding | None:
    """The learned position-embedding table, where the model has one (BERT, DistilBERT)."""
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    table = getattr(getattr(base, "embeddings", None), "position_embeddings", None)
    return table if isinstance(table, torch.nn.Embedding) else None


class _EngineView(torch.nn.Module):
    """The classifier as the engine calls it (`model(inputs_embeds=, token_type_ids=,
    attention_mask=).logits`), sharing its weights: token types dropped for a model that takes
    none, and in position mode `inputs_embeds` taken as position embeddings added to the input's
    fixed word embeddings (the model's own position ids all 0, their embedding subtracted back
    out)."""

    def __init__(self, model: Any, takes_types: bool, table: torch.nn.Embedding | None = None,
                 words: torch.Tensor | None = None) -> None:
        super().__init__()
        self.inner = model
        self.config = model.config
        self.takes_types = takes_types
        self.table = table
        self.words = words
        # A new Module is in training mode, and the engine restores the mode it found after
        # each pass: start in the model's own mode, or the model is left with dropout on.
        self.train(model.training)

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.table if self.table is not None else self.inner.get_input_embeddings()

    def forward(self, inputs_embeds: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> SequenceClassifierOutput:
        kwargs: dict[str, Any] = {"attention_mask": attention_mask}
        if self.takes_types and token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        if self.table is not None and self.words is not None:
            length = inputs_embeds.shape[1]
            inputs_embeds = self.words[:length] + inputs_embeds - self.table.weight[0]
            kwargs["position_ids"] = torch.zeros(inputs_embeds.shape[:2], dtype=torch.long,
                                                 device=inputs_embeds.device)
        return SequenceClassifierOutput(logits=self.inner(inputs_embeds=inputs_embeds,
                                                          **kwargs).logits)


def attribute(model: Any, tokenizer: Any, texts: Sequence[str], index: int | None,
              label_names: Sequence[str], embedding: Embedding = "word",
              n_steps: int | None = None, internal_batch_size: int | None = None,
              flip_sign: bool = False) -> Attributions:
    """Explain `texts` ((text,) or (text1, text2)) for class `index` (None: the predicted class).

    `internal_batch_size` caps the path points per model pass (as in Captum); `flip_sign`
    negates the scores of a single-logit model (explaining 1 - sigmoid), as upstream does.
    The model runs in eval mode with frozen weights; its own mode and flags are restored."""
    with frozen(model):
        return _attribute(model, tokenizer, texts, index, label_names, embedding, n_steps,
                          internal_batch_size, flip_sign)


def _attribute(model: Any, tokenizer: Any, texts: Sequence[str], index: int | None,
               label_names: Sequence[str], embedding: Embedding, n_steps: int | None,
               internal_batch_size: int | None, flip_sign: bool) -> Attributions:
    single = int(model.config.num_labels) == 1
    takes_types = accepts(model, "token_type_ids")
    # One logit z: the engine's binary head, class 1 = sigmoid(z) (class 0, 1 - sigmoid, is
    # upstream's `flip_sign`); several: a softmax, as upstream, whatever `problem_type` says.
    head: HeadKind = "binary" if single else "softmax"
    names = class_names(head, label_names)
    view = model if takes_types else _EngineView(model, takes_types)
    loaded = LoadedModel(view, tokenizer, "classification", names, model.device,
                         "transformers-interpret shim")
    enc = encode(loaded, texts[-1], question=texts[0] if len(texts) == 2 else None)
    budget = internal_batch_size * len(enc) if internal_batch_size else DEFAULT_TOKENS_PER_PASS
    runner = Runner(loaded, budget)
    words = runner.embed(enc.input_ids)
    types = runner.embed_types(enc.token_type_ids)
    logits = runner.raw(words[None], types[None])["logits"][0].double().numpy()
    engine_probs = probabilities(logits, head)
    probs = (float(engine_probs[1]),) if single else tuple(float(p) for p in engine_probs)
    predicted = int(np.argmax(probs))
    selected = predicted if index is None else int(index)
    (target,) = classification_targets(1 if single else selected, engine_probs, names,
                                       "probability", head)
    if embedding == "position":
        table = position_table(model)
        if table is None:
            raise InputError(f"{type(model).__name__} has no position-embedding table.",
                             "attribute to word embeddings (embedding_type=0).")
        runner = Runner(replace(loaded, model=_EngineView(model, takes_types, table, words)),
                        budget)
        # From every token at position 0 (upstream's baseline) to the real positions.
        job = Job(enc, target, runner.embed(range(len(enc))), types, (0,) * len(enc))
    else:
        job = Job(enc, target, words, types, enc.baseline_ids(runner.pad_id))
    (raw,) = get_method("ig", steps=n_steps).attribute(runner, [job])
    flipped = bool(flip_sign and single)
    exp = _explanation(enc, raw, -1.0 if flipped else 1.0,
                       f"{'1 - ' if flipped else ''}sigmoid of {names[1]}" if single
                       else target.name, selected,
                       str(label_names[predicted]) if predicted < len(label_names)
                       else str(predicted), probs[predicted], embedding)
    return Attributions(exp, enc.input_ids, job.baseline_ids, probs, predicted, selected,
                        embedding, flipped)


def _explanation(enc: Encoded, raw: RawAttribution, sign: float, target: str,
                 target_index: int, label: str, confidence: float,
                 embedding: Embedding) -> Explanation:
    """The textlens value of one result (sign -1: the scores and outputs of 1 - F)."""
    scores = tuple(sign * float(v) for v in raw.scores)
    shown = _one_text(enc)
    words, spans, w_scores = word_scores(shown, scores)

    def output(value: float | None) -> float | None:
        return None if value is None else (1.0 - value if sign < 0 else value)

    return Explanation(
        text=shown.texts[0], question=None, tokens=enc.tokens, offsets=shown.offsets,
        segments=shown.segments, scores=scores, words=words, word_spans=spans,
        word_scores=w_scores, char_scores=char_scores(shown, scores, 0),
        question_char_scores=None, target=target, target_index=target_index, label=label,
        confidence=confidence,
        method="ig" if embedding == "word" else "ig (position embeddings)", steps=raw.steps,
        completeness_error=raw.completeness_error, output=output(raw.output),
        baseline_output=output(raw.baseline_output))


def _one_text(e: Encoded) -> Encoded:
    """A pair's encoding as one text, `text1 + "\\n" + text2`, so that words, characters and the
    HTML page cover both (the engine's views read one text)."""
    if len(e.texts) == 1:
        return e
    first, second = e.texts
    shift = len(first) + 1
    firsts = [w for w, s in zip(e.word_ids, e.segments, strict=True) if s == 0 and w is not None]
    word_shift = max(firsts) + 1 if firsts else 0
    return replace(
        e, texts=(f"{first}\n{second}",),
        offsets=tuple((a + shift, b + shift) if s == 1 else (a, b)
                      for (a, b), s in zip(e.offsets, e.segments, strict=True)),
        word_ids=tuple(w + word_shift if s == 1 and w is not None else w
                       for w, s in zip(e.word_ids, e.segments, strict=True)),
        segments=tuple(None if s is None else 0 for s in e.segments))
