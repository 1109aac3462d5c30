"""`AnalysisOptions`: what `analyze` does, every choice checked before any work.

The reducer and the finder are objects (any implementation of the `DimensionalityReducer` and
`ClustersFinder` Protocols), as in Phoenix's `PointCloud`; names such as "umap" are resolved by
`make_reducer` / `make_finder` (the CLI does this), which refuse an unknown name with the list.
A bad value fails when the options are built, and what depends on the model (the layer, span
pooling) fails at the start of `analyze`, not after minutes of prediction and embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from textlens.choices import check_choice
from textlens.engines import EngineChoice
from textlens.errors import InputError
from textlens.latent.clustering import AffinityPropagationFinder, ClustersFinder, make_finder
from textlens.latent.embeddings import EmbeddingOptions
from textlens.latent.projection import DimensionalityReducer, UMAPReducer, make_reducer

if TYPE_CHECKING:
    from textlens.data.types import Dataset
    from textlens.models.loading import LoadedModel

IssueProbabilities = Literal["auto", "model", "crossval"]
ISSUE_PROBABILITIES: tuple[str, ...] = ("auto", "model", "crossval")
POOLINGS: tuple[str | None, ...] = (None, "cls", "mean", "span")


def _check_positive(option: str, value: object, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InputError(f"{option} is {value!r}.", f"pass an integer of at least {minimum}.")


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse: the map's reducer, the clusters' finder, and the other steps' settings.

    `seed` seeds the steps that are not objects here (cross-validated probabilities, the shift
    classifier, the neighbour index); the reducer and finder carry their own seeds."""

    reducer: DimensionalityReducer = field(default_factory=UMAPReducer)
    finder: ClustersFinder = field(default_factory=AffinityPropagationFinder)
    embedding: EmbeddingOptions = field(default_factory=EmbeddingOptions)
    neighbours_k: int = 10
    issue_probabilities: IssueProbabilities = "auto"
    slice_min_size: int = 10
    chunk_size: int = 512
    seed: int = 0
    report: bool = True
    report_issues: int = 10  # top label issues explained (loss attribution) on the report
    engine: EngineChoice = field(default_factory=EngineChoice)  # where the embedding step runs

    def __post_init__(self) -> None:
        if isinstance(self.reducer, str | type) or not isinstance(self.reducer,
                                                                  DimensionalityReducer):
            raise InputError(f"reducer must be a DimensionalityReducer object, not "
                             f"{self.reducer!r}.",
                             "pass e.g. UMAPReducer(), or make_reducer('umap'|'pca'|'tsne').")
        if isinstance(self.finder, str | type) or not isinstance(self.finder, ClustersFinder):
            raise InputError(f"finder must be a ClustersFinder object, not {self.finder!r}.",
                             "pass e.g. AffinityPropagationFinder(), or "
                             "make_finder('affinity'|'kmeans'|'hdbscan').")
        check_choice("issue_probabilities", self.issue_probabilities, ISSUE_PROBABILITIES)
        check_choice("pooling", self.embedding.pooling, POOLINGS)
        _check_positive("neighbours_k", self.neighbours_k)
        _check_positive("slice_min_size", self.slice_min_size)
        _check_positive("chunk_size", self.chunk_size)
        if self.embedding.batch_size is not None:  # None: sized by device
            _check_positive("embedding batch_size", self.embedding.batch_size)
        _check_positive("report_issues", self.report_issues, minimum=0)
        _check_positive("embedding layer", abs(self.embedding.layer), minimum=0)

    @classmethod
    def named(cls, projection: str = "umap", clustering: str = "affinity", seed: int = 0,
              **rest: Any) -> AnalysisOptions:
        """Options from the CLI's names: `AnalysisOptions.named("pca", "kmeans", seed=1)`."""
        return cls(reducer=make_reducer(projection, seed), finder=make_finder(clustering, seed),
                   seed=seed, **rest)

    def check_for(self, loaded: LoadedModel, dataset: Dataset) -> None:
        """What depends on the model and data, checked before any work."""
        layers = int(getattr(loaded.model.config, "num_hidden_layers", 0))
        layer = self.embedding.layer
        if not -(layers + 1) <= layer <= layers:
            raise InputError(f"Layer {layer} does not exist: the model has {layers} layers "
                             f"(hidden states 0 = embeddings .. {layers} = last).",
                             f"pass a layer from {-(layers + 1)} to {layers} (-1 = last).")
        if self.embedding.pooling == "span" and dataset.task != "qa":
            raise InputError("Span pooling needs QA predictions; this is classification data.",
                             "use pooling cls or mean.")
