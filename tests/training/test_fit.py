"""SpecAugment-style masks on training windows: spans of zeroed frames and channels, seeded,
on training batches only."""

from __future__ import annotations

import numpy as np

from training.fit import Batches, FitSettings, dead, mask_features


def test_masks_zero_whole_frames_and_channels_within_their_widths() -> None:
    settings = FitSettings(time_masks=1, time_mask_frames=5, channel_masks=1, channel_mask_width=4)
    inputs = np.ones((200, 50, 1, 40), np.float32)
    mask_features(inputs, settings, np.random.default_rng(0))
    zero_frames = (inputs[:, :, 0, :] == 0).all(axis=2).sum(axis=1)
    zero_channels = (inputs[:, :, 0, :] == 0).all(axis=1).sum(axis=1)
    assert zero_frames.max() <= 5 and zero_channels.max() <= 4
    assert zero_frames.min() == 0 and zero_channels.min() == 0  # a width of 0 is drawn too
    assert zero_frames.mean() > 1 and zero_channels.mean() > 1
    # every zero is explained by a masked frame or a masked channel: nothing else is touched
    frame_hit = (inputs[:, :, 0, :] == 0).all(axis=2)[:, :, None]
    channel_hit = (inputs[:, :, 0, :] == 0).all(axis=1)[:, None, :]
    assert np.array_equal(inputs[:, :, 0, :] == 0, frame_hit | channel_hit)


def test_same_seed_same_masks() -> None:
    first, second = (np.ones((8, 30, 1, 40), np.float32) for _ in range(2))
    mask_features(first, FitSettings(), np.random.default_rng(3))
    mask_features(second, FitSettings(), np.random.default_rng(3))
    assert np.array_equal(first, second)


def test_only_training_batches_are_masked() -> None:
    x = np.full((64, 20, 40), 100, np.uint16)
    y = np.zeros(64, np.float32)
    training = Batches(x, y, 64, shuffle=np.random.default_rng(0), masks=FitSettings())
    validation = Batches(x, y, 64)
    assert (training[0][0] == 0).any()
    assert not (validation[0][0] == 0).any()


def test_a_model_with_a_layer_never_on_is_dead() -> None:
    from training.models import FullSpec, build_full, keras

    keras.utils.set_random_seed(0)
    model = build_full(FullSpec())
    windows = np.random.default_rng(0).integers(0, 600, (64, 150, 40)).astype(np.uint16)
    assert not dead(model, windows)
    kernel, bias = model.get_layer("pw3").get_weights()
    model.get_layer("pw3").set_weights([kernel, bias - 1e6])  # every unit of the last block off
    assert dead(model, windows)
