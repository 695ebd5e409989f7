"""Training data: synthetic speech, negatives, augmentation, real-data loaders, feature cache."""

from training.data.containers import ClipSet, DataRecipe, Dataset, Split
from training.data.dataset import build_dataset

__all__ = ["ClipSet", "DataRecipe", "Dataset", "Split", "build_dataset"]
