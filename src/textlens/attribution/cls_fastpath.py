"""Classifier outputs with the last encoder layer run for the [CLS] query only.

Why: a BERT classifier reads nothing of its last layer but the first token (the pooler takes
hidden[:, 0]), so that layer's query, output projection and feed-forward for every other token
are wasted work. Skipping them removes about 1/7 of the FLOPs of every attribution pass, forward
and backward alike (measured in `bench/results/attribution_levers.json`). The logits are the
full model's to float rounding (a test checks it); other architectures use the full forward.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class ClsFastPath:
    """A weight-sharing view of a BERT sequence classifier: trunk (all layers but the last, no
    pooler), the last layer, and the head."""

    trunk: Any
    last: Any
    pooler: Any
    head: Any

    def logits(self, embeds: torch.Tensor, token_types: torch.Tensor,
               mask: torch.Tensor | None) -> torch.Tensor:
        hidden = self.trunk(inputs_embeds=embeds, token_type_ids=token_types,
                            attention_mask=mask).last_hidden_state
        return self.head(self.pooler(_cls_only_layer(self.last, hidden, mask)))


def cls_fast_path(model: Any) -> ClsFastPath | None:
    """The fast path for a BertForSequenceClassification-shaped model, else None."""
    bert = getattr(model, "bert", None)
    layers = getattr(getattr(bert, "encoder", None), "layer", None)
    config = getattr(model, "config", None)
    if (bert is None or layers is None or len(layers) < 2 or bert.pooler is None
            or not hasattr(model, "classifier") or config is None or config.is_decoder
            or getattr(config, "chunk_size_feed_forward", 0)
            or not _bert_layer_shaped(layers[-1])):
        return None
    import torch

    encoder = copy.copy(bert.encoder)
    encoder._modules = dict(encoder._modules)
    encoder.layer = torch.nn.ModuleList(list(layers)[:-1])
    trunk = copy.copy(bert)
    trunk._modules = dict(trunk._modules)
    trunk.encoder = encoder
    trunk.pooler = None
    head = torch.nn.Sequential(model.dropout, model.classifier)
    return ClsFastPath(trunk, layers[-1], bert.pooler, head)


def _bert_layer_shaped(layer: Any) -> bool:
    attention = getattr(layer, "attention", None)
    self_attention = getattr(attention, "self", None)
    return all(hasattr(self_attention, name) for name in
               ("query", "key", "value", "num_attention_heads", "attention_head_size", "scaling")) \
        and hasattr(attention, "output") and hasattr(layer, "intermediate") \
        and hasattr(layer, "output")


def _cls_only_layer(layer: Any, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The BertLayer's output at position 0 only: (R, 1, H)."""
    import torch.nn.functional as F  # noqa: N812

    att = layer.attention.self
    rows, length, size = hidden.shape
    heads, dim = att.num_attention_heads, att.attention_head_size

    def split(x: torch.Tensor) -> torch.Tensor:
        return x.view(rows, -1, heads, dim).transpose(1, 2)

    keep = None if mask is None else mask[:, None, None, :].bool()
    context = F.scaled_dot_product_attention(split(att.query(hidden[:, :1])),
                                             split(att.key(hidden)), split(att.value(hidden)),
                                             attn_mask=keep, scale=att.scaling)
    attended = layer.attention.output(context.transpose(1, 2).reshape(rows, 1, size),
                                      hidden[:, :1])
    return layer.output(layer.intermediate(attended), attended)
