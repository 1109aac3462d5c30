"""Drop-in replacements for transformers-interpret's text explainers, computed by textlens.

`from textlens.attribution.shim import SequenceClassificationExplainer` where code had
`from transformers_interpret import SequenceClassificationExplainer`; the same for
`PairwiseSequenceClassificationExplainer` and (a subset) `QuestionAnsweringExplainer`. Error
types are in `textlens.attribution.shim.errors`. The compatibility contract is
`tests/unit/test_shim_compat.py` (transformers-interpret's own tests, run on local models)."""

from textlens.attribution.shim.engine import Attributions
from textlens.attribution.shim.errors import (
    AttributionsNotCalculatedError,
    AttributionTypeNotSupportedError,
    CustomLabelsError,
    ExplainerNotCalledError,
    InputIdsNotCalculatedError,
)
from textlens.attribution.shim.question_answering import QuestionAnsweringExplainer
from textlens.attribution.shim.sequence_classification import (
    PairwiseSequenceClassificationExplainer,
    SequenceClassificationExplainer,
)

__all__ = ["Attributions", "AttributionTypeNotSupportedError", "AttributionsNotCalculatedError",
           "CustomLabelsError", "ExplainerNotCalledError", "InputIdsNotCalculatedError",
           "PairwiseSequenceClassificationExplainer", "QuestionAnsweringExplainer",
           "SequenceClassificationExplainer"]
