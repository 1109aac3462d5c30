"""Model passes for attribution: forward-only scores and input gradients on word embeddings.

Rows of different lengths come right-padded with an attention mask (`pad_rows`), which leaves
every row's output unchanged; passes are chunked to a token budget so memory stays bounded.
Weights are frozen while attributing: only input gradients are needed, which skips the weight
gradient half of every backward matmul.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from textlens.attribution.cls_fastpath import ClsFastPath, cls_fast_path
from textlens.attribution.targets import Target, TargetTable, score_rows
from textlens.models.loading import LoadedModel

if TYPE_CHECKING:
    import numpy as np
    import torch

Targets = Sequence[Target] | TargetTable


@contextmanager
def frozen(model: torch.nn.Module) -> Iterator[None]:
    """Weights without gradients (restored afterwards), eval mode. A model already frozen (the
    engine freezes it once around all its passes) is left alone: `eval()` walks every module,
    which cost 8 ms a pass, more than a short text's pass itself on a GPU."""
    if not model.training and not any(p.requires_grad for p in model.parameters()):
        yield
        return
    was = [(p, p.requires_grad) for p in model.parameters()]
    training = model.training
    for p, _ in was:
        p.requires_grad_(False)
    model.eval()
    try:
        yield
    finally:
        for p, flag in was:
            p.requires_grad_(flag)
        model.train(training)


@dataclass(frozen=True)
class Runner:
    """Passes over rows of input embeddings for one LoadedModel."""

    loaded: LoadedModel
    max_tokens_per_pass: int = 4096
    pad_slack: float = 0.08  # a pass pads rows to at most this fraction of its longest (or 1)
    # ... except that a pass takes rows regardless of padding until it holds this many tokens:
    # on the 2-core CPU a pass's cost per token fell about 3x from ~100- to ~800-token passes,
    # so a round of a few short texts (10-20 tokens, a different length each) is cheaper as one
    # padded pass than as one small pass per length.
    min_tokens_per_pass: int = 1024

    @property
    def pad_id(self) -> int:
        tok = self.loaded.tokenizer
        return int(tok.pad_token_id if tok.pad_token_id is not None else 0)

    def embed(self, ids: Sequence[int]) -> torch.Tensor:
        """Word embeddings (L, H) of one id sequence."""
        import torch

        table = self.loaded.model.get_input_embeddings()
        with torch.no_grad():
            return table(torch.tensor(ids, device=self.loaded.device)).detach()

    def _chunks(self, n_rows: int, length: int) -> list[slice]:
        step = max(1, self.max_tokens_per_pass // max(1, length))
        return [slice(i, min(n_rows, i + step)) for i in range(0, n_rows, step)]

    @cached_property
    def fast_path(self) -> ClsFastPath | None:
        """BERT classifiers skip the last layer's work for all tokens but [CLS]."""
        return cls_fast_path(self.loaded.model) if self.loaded.task == "classification" else None

    @cached_property
    def takes_token_types(self) -> bool:
        """Whether the model's forward takes token types (DistilBERT's and ModernBERT's do not)."""
        import inspect

        return "token_type_ids" in inspect.signature(self.loaded.model.forward).parameters

    def outputs(self, embeds: torch.Tensor, token_types: torch.Tensor,
                mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if mask is None:
            mask = token_types.new_ones(token_types.shape)
        if self.fast_path is not None:
            return {"logits": self.fast_path.logits(embeds, token_types, mask)}
        types = {"token_type_ids": token_types} if self.takes_token_types else {}
        out = self.loaded.model(inputs_embeds=embeds, attention_mask=mask, **types)
        if self.loaded.task == "qa":
            # Padding positions take no share of a softmax over token positions.
            pad = mask == 0
            return {"start_logits": out.start_logits.masked_fill(pad, -1e4),
                    "end_logits": out.end_logits.masked_fill(pad, -1e4)}
        return {"logits": out.logits}

    def scores(self, embeds: torch.Tensor, token_types: torch.Tensor,
               targets: Targets, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Target scores (R,) without gradients."""
        import torch

        parts = []
        with torch.inference_mode():
            for sl in self._chunks(len(targets), embeds.shape[1]):
                out = self.outputs(embeds[sl], token_types[sl], _at(mask, sl))
                parts.append(score_rows(out, targets[sl]))
        return torch.cat(parts)

    def raw(self, embeds: torch.Tensor, token_types: torch.Tensor,
            mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """All head outputs (float, CPU) without gradients: predictions."""
        import torch

        parts: list[dict[str, torch.Tensor]] = []
        with torch.inference_mode():
            for sl in self._chunks(len(embeds), embeds.shape[1]):
                parts.append(self.outputs(embeds[sl], token_types[sl], _at(mask, sl)))
        return {k: torch.cat([p[k] for p in parts]).float().cpu() for k in parts[0]}

    def gradients(self, embeds: torch.Tensor, token_types: torch.Tensor,
                  targets: Targets, mask: torch.Tensor | None = None,
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Target scores (R,) and their gradients with respect to the embeddings (R, L, H).
        Rows do not interact (eval mode), so the gradient of the sum is each row's gradient."""
        import torch

        scores, grads = [], []
        with frozen(self.loaded.model), torch.enable_grad():
            for sl in self._chunks(len(targets), embeds.shape[1]):
                x = embeds[sl].detach().requires_grad_(True)
                value = score_rows(self.outputs(x, token_types[sl], _at(mask, sl)), targets[sl])
                (grad,) = torch.autograd.grad(value.sum(), x)
                scores.append(value.detach())
                grads.append(grad)
        return torch.cat(scores), torch.cat(grads)

    def gradients_choosing(self, embeds: torch.Tensor, token_types: torch.Tensor,
                           choose: Callable[[int, dict[str, np.ndarray]], Target],
                           mask: torch.Tensor | None = None,
                           ) -> tuple[dict[str, np.ndarray], list[Target], torch.Tensor,
                                      torch.Tensor]:
        """`gradients` whose targets are chosen from the pass's own outputs: `choose(row,
        outputs of that row)` (the prediction, read off the forward that is backpropagated, so
        no separate prediction pass). Returns the head outputs (float32, as `raw` gives them),
        the targets, their scores (R,) and gradients (R, L, H)."""
        import torch

        outs, chosen, scores, grads = [], [], [], []
        with frozen(self.loaded.model), torch.enable_grad():
            for sl in self._chunks(len(embeds), embeds.shape[1]):
                x = embeds[sl].detach().requires_grad_(True)
                out = self.outputs(x, token_types[sl], _at(mask, sl))
                host = {k: v.detach().float().cpu().numpy() for k, v in out.items()}
                targets = [choose(sl.start + r, {k: v[r] for k, v in host.items()})
                           for r in range(x.shape[0])]
                value = score_rows(out, targets)
                (grad,) = torch.autograd.grad(value.sum(), x)
                outs.append(host)
                chosen += targets
                scores.append(value.detach())
                grads.append(grad)
        import numpy as np

        joined = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
        return joined, chosen, torch.cat(scores), torch.cat(grads)

    def embed_types(self, types: Sequence[int]) -> torch.Tensor:
        import torch

        return torch.tensor(types, device=self.loaded.device)

    def pass_slices(self, lengths: np.ndarray) -> list[slice]:
        """Passes over rows sorted longest first: each pass holds at most `max_tokens_per_pass`
        tokens once padded to its longest row, and rows at most `pad_slack` shorter than it
        once it holds `min_tokens_per_pass`."""
        import numpy as np

        slices, start, n = [], 0, len(lengths)
        descending = -np.asarray(lengths)
        while start < n:
            longest = int(lengths[start])
            shortest = longest - max(1.0, self.pad_slack * longest)
            fits = int(np.searchsorted(descending, -shortest, side="right"))
            small = start + -(-self.min_tokens_per_pass // max(1, longest))
            end = min(max(fits, small), start + max(1, self.max_tokens_per_pass // max(1, longest)),
                      n)
            slices.append(slice(start, max(end, start + 1)))
            start = slices[-1].stop
        return slices

    def path_gradients(self, path: Path, owner: np.ndarray, alpha: np.ndarray,
                       ) -> tuple[np.ndarray, np.ndarray]:
        """F and the IG integrand at points `base + alpha (x - base)` of the texts `owner`, all
        rows in as few passes as the token budget allows, longest first, each pass padded to
        its longest row with a mask. Returns F (R,) and grad . (x - base) per token (R, L_max),
        float64 on the CPU, in the order asked. One code path for every device: the batching
        differs only in the budget and slack.

        Texts with the same baseline, token types and target (same length, same class) share
        their alpha = 0 row: it runs once and its gradient is dotted with each text's x - base.
        """
        import numpy as np
        import torch

        run, copies = _shared_baseline_rows(path, owner, alpha)
        shared_rows = np.fromiter(copies, dtype=np.int64, count=len(copies))
        order = run[np.argsort(-path.lengths[owner[run]], kind="stable")]
        rows = torch.as_tensor(owner[order], device=path.base.device)
        alphas = torch.as_tensor(alpha[order], dtype=path.base.dtype, device=path.base.device)
        sorted_lengths = path.lengths[owner[order]]
        values = np.empty(len(owner))
        integrand = np.zeros((len(owner), path.base.shape[1]))
        for sl in self.pass_slices(sorted_lengths):
            longest = int(sorted_lengths[sl.start])
            own = rows[sl]
            delta = path.delta[own, :longest]
            embeds = path.base[own, :longest] + alphas[sl, None, None] * delta
            mask = path.mask[own, :longest] if sorted_lengths[sl.stop - 1] < longest else None
            value, grad = self.gradients(embeds, path.types[own, :longest],
                                         path.targets.take(own), mask)
            at = order[sl]
            values[at] = value.double().cpu().numpy()
            integrand[at, :longest] = (grad * delta).sum(-1).double().cpu().numpy()
            if copies:  # rows that reuse a baseline row of this pass: one gather, one product
                reps = np.flatnonzero(np.isin(at, shared_rows))
                if len(reps):
                    source = np.concatenate([[k] * len(copies[int(at[k])]) for k in reps])
                    twins = np.concatenate([copies[int(at[k])] for k in reps])
                    values[twins] = values[at[source]]
                    others = torch.as_tensor(owner[twins], device=path.base.device)
                    picked = torch.as_tensor(source, device=path.base.device)
                    integrand[twins, :longest] = (grad[picked] * path.delta[others, :longest]
                                                  ).sum(-1).double().cpu().numpy()
        return values, integrand


def _shared_baseline_rows(path: Path, owner: np.ndarray, alpha: np.ndarray,
                          ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Rows to run, and for each alpha = 0 row that runs, the rows that reuse its gradient.
    Why: on SST-2 validation (first 100, chunks sorted by length) about a third of the texts of
    a chunk share their length and predicted class with another, and so their baseline row."""
    import numpy as np

    at_base = np.flatnonzero(alpha == 0.0)
    if len(at_base) < 2:
        return np.arange(len(owner)), {}
    groups = path.baseline_group[owner[at_base]]
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    copies = {int(at_base[f]): at_base[(inverse == g) & (np.arange(len(at_base)) != f)]
              for g, f in enumerate(first)}
    copies = {row: twins for row, twins in copies.items() if len(twins)}
    skipped = np.concatenate(list(copies.values())) if copies else np.array([], dtype=np.int64)
    return np.setdiff1d(np.arange(len(owner)), skipped), copies


@dataclass(frozen=True)
class Path:
    """Baselines and inputs of many texts, padded to the longest: (J, L, H) each, with token
    types, an attention mask, lengths and targets. Rows are gathered from it by index, so a
    round of IG builds its inputs with one indexing op, not a Python loop over rows."""

    base: torch.Tensor
    delta: torch.Tensor  # x - base; 0 on padding
    types: torch.Tensor
    mask: torch.Tensor
    lengths: np.ndarray
    targets: TargetTable
    baseline_group: np.ndarray  # (J,) equal for texts whose alpha = 0 rows are the same input

    @classmethod
    def of(cls, runner: Runner, xs: Sequence[torch.Tensor], types: Sequence[torch.Tensor],
           baseline_ids: Sequence[Sequence[int]], targets: Sequence[Target]) -> Path:
        import numpy as np
        import torch

        x, tt, mask = pad_rows(xs, types)
        table = np.full(tuple(tt.shape), runner.pad_id, dtype=np.int64)
        for j, b in enumerate(baseline_ids):
            table[j, :len(b)] = b
        ids = torch.from_numpy(table).to(x.device)  # one copy to the device, not one a text
        with torch.no_grad():
            base = runner.loaded.model.get_input_embeddings()(ids).detach()
        if mask is None:
            mask = tt.new_ones(tt.shape)
        else:
            base = base * mask[..., None]
        keys: dict[tuple, int] = {}
        group = np.array([keys.setdefault((tuple(b), tuple(t.tolist()), target), len(keys))
                          for b, t, target in zip(baseline_ids, types, targets, strict=True)])
        return cls(base, x - base, tt, mask, np.array([len(v) for v in xs]),
                   TargetTable.of(targets, x.device), group)


def _at(mask: torch.Tensor | None, sl: slice) -> torch.Tensor | None:
    return None if mask is None else mask[sl]


def pad_rows(rows: Sequence[torch.Tensor], types: Sequence[torch.Tensor],
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Stack rows of (near-)equal length, right-padded with an attention mask (None if equal).
    Masked positions cannot influence the others, so scores and gradients are unchanged."""
    import torch

    longest = max(len(r) for r in rows)
    if all(len(r) == longest for r in rows):
        return torch.stack(list(rows)), torch.stack(list(types)), None
    embeds = rows[0].new_zeros((len(rows), longest, rows[0].shape[-1]))
    tt = types[0].new_zeros((len(rows), longest))
    mask = types[0].new_zeros((len(rows), longest))
    for i, (r, t) in enumerate(zip(rows, types, strict=True)):
        embeds[i, :len(r)] = r
        tt[i, :len(t)] = t
        mask[i, :len(r)] = 1
    return embeds, tt, mask
