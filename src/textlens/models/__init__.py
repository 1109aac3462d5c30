"""Models: load, create and save Hugging Face models; batched prediction; QA span plumbing."""

from textlens.models.loading import (
                                     DEFAULT_ENCODER,
                                     LoadedModel,
                                     encoder_path,
                                     ensure_loaded,
                                     load_model,
                                     new_model,
                                     resolve_device,
                                     save_model,
)

__all__ = ["DEFAULT_ENCODER", "LoadedModel", "encoder_path", "ensure_loaded", "load_model", "new_model",
           "resolve_device", "save_model"]
