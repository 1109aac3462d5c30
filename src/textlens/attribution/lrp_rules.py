"""AttnLRP (Achtibat et al., ICML 2024) as gradient x input over a forward pass whose backward
is modified ("LRP via modified gradients", the way the `lxt` package implements it):

- LayerNorm: the LN-rule (identity on the normalisation): the standard deviation is detached,
  so the layer is linear in its input for the backward pass;
- element-wise activations (GELU, tanh...): the identity rule, gradient f(x) / x;
- softmax attention: the uniform rule on its two bilinear products, the relevance halved at
  each (Q K^T and A V): the gradient into query and key divided by 4, into value by 2; the
  softmax itself passes its gradient (AttnLRP's softmax rule is gradient x input);
- a gated MLP's product (ModernBERT): the uniform rule, halved into both factors;
- linear layers: the epsilon-rule, which gradient x input already is; their biases absorb
  relevance, reported as `absorbed` with position and token-type embeddings' share.

The rules are forward hooks installed once per model and active only inside `active()` on the
calling thread: forward values are unchanged, so a prediction pass or another method running on
the same model at the same time is not affected. Why not `lxt`: lxt 2.1 (the newest on PyPI)
replaces BERT's modeling module with a copy of transformers 4.x's, which fails to import
under the installed transformers 5 (`find_pruneable_heads_and_indices` is gone); it patches
only BERT among these encoders; and it grants no patent rights (LRP is patented, its licence
says so). The rules themselves are a few lines each, written here for every family below.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textlens.errors import ModelError

if TYPE_CHECKING:
    import torch

# Attention projections per family, by the last part of their module name: how much of the
# relevance reaching each projection's output is left after the uniform rule. A fused
# projection (ModernBERT's Wqkv) lists one factor per third of its output.
_QKV: dict[str, dict[str, tuple[float, ...]]] = {
    "bert": {"query": (4.0,), "key": (4.0,), "value": (2.0,)},
    "roberta": {"query": (4.0,), "key": (4.0,), "value": (2.0,)},
    "xlm-roberta": {"query": (4.0,), "key": (4.0,), "value": (2.0,)},
    "electra": {"query": (4.0,), "key": (4.0,), "value": (2.0,)},
    "albert": {"query": (4.0,), "key": (4.0,), "value": (2.0,)},
    "distilbert": {"q_lin": (4.0,), "k_lin": (4.0,), "v_lin": (2.0,)},
    "mpnet": {"q": (4.0,), "k": (4.0,), "v": (2.0,)},
    "deberta-v2": {"query_proj": (4.0,), "key_proj": (4.0,), "value_proj": (2.0,)},
    "modernbert": {"Wqkv": (4.0, 4.0, 2.0), "Wi": (2.0,)},  # Wi: the gated MLP's two factors
}
SUPPORTED = tuple(sorted(_QKV))

_STATE = threading.local()
_INSTALLED: weakref.WeakKeyDictionary[Any, Rules] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _on() -> bool:
    return getattr(_STATE, "active", False)


def family(model: Any) -> str:
    """The model's family if AttnLRP supports it, else a ModelError naming those it does."""
    kind = str(getattr(getattr(model, "config", None), "model_type", "unknown"))
    if kind not in _QKV:
        raise ModelError(
            f"method=\"lrp\" has no AttnLRP rules for the model family '{kind}'.",
            f"use a model of a supported family ({', '.join(SUPPORTED)}), or another method "
            "(ig works on every model).")
    return kind


@dataclass(frozen=True)
class Rules:
    """Counts of the modules each rule is installed on (what a test checks)."""

    family: str
    layer_norms: int
    activations: int
    projections: int

    @contextmanager
    def active(self) -> Iterator[None]:
        """The rules on for this thread's forward passes (nested use is fine)."""
        before = _on()
        _STATE.active = True
        try:
            yield
        finally:
            _STATE.active = before


def rules_for(model: Any) -> Rules:
    """Install the rules' hooks on `model` once; later calls return the same `Rules`."""
    import torch

    kind = family(model)
    with _LOCK:
        if model in _INSTALLED:
            return _INSTALLED[model]
        norms = acts = projections = 0
        for name, module in model.named_modules():
            leaf = name.rsplit(".", 1)[-1]
            if isinstance(module, torch.nn.LayerNorm):
                module.register_forward_hook(_layer_norm_hook)
                norms += 1
            elif _is_activation(module):
                module.register_forward_hook(_identity_hook)
                acts += 1
            elif isinstance(module, torch.nn.Linear) and leaf in _QKV[kind]:
                module.register_forward_hook(_divide_hook(_QKV[kind][leaf]))
                projections += 1
        rules = Rules(kind, norms, acts, projections)
        _INSTALLED[model] = rules
        return rules


def _is_activation(module: Any) -> bool:
    import torch

    return type(module).__module__ == "transformers.activations" or isinstance(
        module, torch.nn.GELU | torch.nn.Tanh | torch.nn.SiLU | torch.nn.ReLU)


def _layer_norm_hook(module: Any, args: tuple[Any, ...], output: torch.Tensor) -> Any:
    """LN-rule: the same output, with the standard deviation detached for the backward."""
    if not _on():
        return None
    x = args[0]
    mean = x.mean(-1, keepdim=True)
    std = (x.var(-1, keepdim=True, unbiased=False) + module.eps).sqrt()
    y = (x - mean) / std.detach()
    if module.weight is not None:
        y = y * module.weight
    if module.bias is not None:
        y = y + module.bias
    return y


def _identity_hook(module: Any, args: tuple[Any, ...], output: torch.Tensor) -> Any:
    """Identity rule: relevance passes an element-wise activation unchanged (grad f(x)/x)."""
    if not _on():
        return None
    return _identity_rule().apply(args[0], output)


def _divide_hook(factors: tuple[float, ...]):
    def hook(module: Any, args: tuple[Any, ...], output: torch.Tensor) -> Any:
        if not _on():
            return None
        import torch

        if len(factors) == 1:
            scale = torch.tensor(1.0 / factors[0], dtype=output.dtype, device=output.device)
        else:
            part = output.shape[-1] // len(factors)
            scale = torch.tensor([1.0 / f for f in factors], dtype=output.dtype,
                                 device=output.device).repeat_interleave(part)
        return _scaled_gradient().apply(output, scale)
    return hook


_FUNCTIONS: dict[str, Any] = {}


def _identity_rule() -> Any:
    """An autograd Function: forward returns `out` (= f(x)), backward sends grad * f(x) / x
    to x and nothing through f's own graph."""
    if "identity" not in _FUNCTIONS:
        import torch

        class IdentityRule(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
                ctx.save_for_backward(out / (x + 1e-10 * (x >= 0) - 1e-10 * (x < 0)))
                return out.detach().clone()

            @staticmethod
            def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
                (ratio,) = ctx.saved_tensors
                return grad * ratio, None

        _FUNCTIONS["identity"] = IdentityRule
    return _FUNCTIONS["identity"]


def _scaled_gradient() -> Any:
    """An autograd Function: identity forward, gradient times `scale` backward."""
    if "scale" not in _FUNCTIONS:
        import torch

        class ScaledGradient(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
                ctx.save_for_backward(scale)
                return x.view_as(x)

            @staticmethod
            def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
                (scale,) = ctx.saved_tensors
                return grad * scale, None

        _FUNCTIONS["scale"] = ScaledGradient
    return _FUNCTIONS["scale"]
