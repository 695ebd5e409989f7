"""Training data: synthetic speech, negatives, augmentation, real-data loaders, feature cache."""

from training.data.dataset import (
    ClipSet,
    DataRecipe,
    Dataset,
    Split,
    build_dataset,
)

__all__ = ["ClipSet", "DataRecipe", "Dataset", "Split", "build_dataset"]
