"""The verifier's head as training builds it (Keras) and as the runtime computes it (numpy)
give the same probabilities."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
pytest.importorskip("tf_keras")

from kws.verifier import EMBEDDING_DIM, WINDOW_EMBEDDINGS, VerifierHead  # noqa: E402
from training.verifier import head_arrays, head_bytes, head_model  # noqa: E402


def test_the_numpy_head_computes_what_the_keras_head_does() -> None:
    import tf_keras as keras

    keras.utils.set_random_seed(3)
    model = head_model(16)
    # layer norm's scale and offset away from their initial 1 and 0, so they are really used
    rng = np.random.default_rng(0)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.LayerNormalization)]
    for layer in norms:
        gamma, beta = layer.get_weights()
        layer.set_weights(
            [gamma + rng.standard_normal(gamma.shape), rng.standard_normal(beta.shape)]
        )
    arrays = head_arrays(model)
    batch = rng.standard_normal((64, WINDOW_EMBEDDINGS, EMBEDDING_DIM)).astype(np.float32)
    logits = model.predict(batch, verbose=0)[:, 0].astype(np.float64)
    expected = 1.0 / (1.0 + np.exp(-logits))
    got = VerifierHead(head_bytes(arrays))(batch)
    assert got == pytest.approx(expected, abs=1e-5)
    assert expected.std() > 0.05  # the outputs differ: a real comparison


def test_stacked_heads_give_the_sigmoid_of_their_mean_logit() -> None:
    import tf_keras as keras

    rng = np.random.default_rng(1)
    batch = rng.standard_normal((32, WINDOW_EMBEDDINGS, EMBEDDING_DIM)).astype(np.float32)
    members, logits = [], []
    for seed in (5, 6, 7):
        keras.utils.set_random_seed(seed)
        model = head_model(16)
        members.append(head_arrays(model))
        logits.append(model.predict(batch, verbose=0)[:, 0].astype(np.float64))
    stacked = {name: np.stack([m[name] for m in members]) for name in members[0]}
    head = VerifierHead(head_bytes(stacked))
    assert head.members == 3
    expected = 1.0 / (1.0 + np.exp(-np.mean(logits, axis=0)))
    assert head(batch) == pytest.approx(expected, abs=1e-5)
    # not what any one member says: a real mean
    for single in logits:
        assert not np.allclose(1.0 / (1.0 + np.exp(-single)), expected, atol=1e-3)
