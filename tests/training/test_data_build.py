"""build_dataset end to end on a tiny budget: shapes, disjoint voices, real folders, cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
from rich.progress import Progress

from kws.errors import TrainingError
from kws.synth import VoiceSettings, synthesize
from training.data import DataRecipe, Dataset, augment, build_dataset, phonemes
from training.data import dataset as dataset_module
from training.data.clips import ClipJob, make_clip
from training.data.containers import FULL_BUDGET, QUICK_BUDGET
from training.data.dataset import MIN_CONFUSABLE_DISTANCE, phrase_lists
from training.data.real import AUGMENTED_COPIES

KEYWORD = "hey nova"
FRAMES_PER_CLIP = 198  # 2 s clip: (32000 - 480) // 160 + 1


@pytest.fixture(scope="module")
def real_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("real")
    recordings, negatives = root / "recordings", root / "negatives"
    recordings.mkdir()
    negatives.mkdir()
    for index in range(6):
        settings = VoiceSettings("en-gb-x-rp+m2", rate_wpm=130 + 10 * index)
        pcm = np.concatenate([np.zeros(4000, np.int16), synthesize(KEYWORD, settings)])
        soundfile.write(recordings / f"me_{index}.wav", pcm, 22050)  # resampled on reading
    noise = 0.05 * augment.make_noise("brown", 3 * 16000, np.random.default_rng(0))
    soundfile.write(negatives / "fan.wav", augment.to_int16(noise), 16000)
    return recordings, negatives


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, real_folders: tuple[Path, Path]
) -> tuple[Dataset, DataRecipe, Path, int]:
    cache = tmp_path_factory.mktemp("cache")
    recipe = DataRecipe(
        KEYWORD,
        seed=3,
        quick=True,
        n_positive=16,
        n_negative=24,
        stream_minutes={"train": 0.34, "val": 0.2, "test": 0.34},
        recordings_dir=real_folders[0],
        negatives_dir=real_folders[1],
        workers=2,
    )
    with Progress(disable=True) as progress:
        dataset = build_dataset(recipe, cache, progress)
        advanced = int(sum(task.completed for task in progress.tasks))
    return dataset, recipe, cache, advanced


def _smallest_recipe() -> DataRecipe:
    """Two keyword clips and two keyword-free clips a split, no stream, one worker."""
    return DataRecipe(
        KEYWORD,
        quick=True,
        n_positive=2,
        n_negative=2,
        stream_minutes={"train": 0, "val": 0, "test": 0},
        workers=1,
    )


def test_budget_scales_held_out_splits_with_the_training_counts() -> None:
    recipe = DataRecipe(KEYWORD, quick=True, n_positive=480, n_negative=20)
    assert recipe.budget("train")[:2] == (480, 20)
    assert recipe.budget("val")[0] == round(480 * QUICK_BUDGET["val"][0] / 240)
    assert recipe.budget("test")[1] == 8  # never below the floor
    assert DataRecipe(KEYWORD).budget("test") == FULL_BUDGET["test"]


def test_every_clip_is_two_seconds_of_uint16_features(built: tuple) -> None:
    dataset = built[0]
    for name in ("train", "val", "test"):
        split = dataset.split(name)
        for clips in (split.positives, split.negatives):
            assert clips.features
            assert all(
                f.shape == (FRAMES_PER_CLIP, 40) and f.dtype == np.uint16 for f in clips.features
            )
        assert len(split.positives.features) == len(split.positives.keyword_end_frames)
        assert (split.negatives.keyword_end_frames == -1).all()
        ends = split.positives.keyword_end_frames
        assert ((ends >= 120) & (ends < FRAMES_PER_CLIP)).all()  # the keyword ends at 1.2-2 s
        assert split.stream_features.dtype == np.uint16 and split.stream_features.shape[1] == 40


def test_keyword_end_frame_marks_the_end_of_speech(built: tuple) -> None:
    """Loudness falls after the keyword end in clips whose keyword is not followed by speech."""
    test = built[0].test
    drops = []
    for features, end in zip(
        test.positives.features, test.positives.keyword_end_frames, strict=True
    ):
        before = features[end - 30 : end].astype(float).mean()
        after = features[end + 3 : end + 13].astype(float).mean()
        drops.append(before - after)
    assert np.median(drops) > 0


def test_counts_follow_the_recipe_plus_real_clips(built: tuple) -> None:
    dataset = built[0]
    user = {
        name: [v for v in dataset.split(name).positives.voices if v.startswith("user:")]
        for name in ("train", "val", "test")
    }
    # Every recording lands in exactly one split; training ones also as augmented copies.
    n_train_files = len(set(user["train"]))
    assert n_train_files + len(user["val"]) + len(user["test"]) == 6
    assert len(user["train"]) == n_train_files * (1 + AUGMENTED_COPIES)
    assert len(dataset.train.negatives.features) == 24
    n_real = 6 + n_train_files * AUGMENTED_COPIES
    assert dataset.stats["real_clips"] == {"positives": n_real, "negatives": 0, "streams": 1}
    total_s = sum(dataset.split(s).stream_hours * 3600 for s in ("train", "val", "test"))
    assert total_s == pytest.approx(40 + 20 + 40 + 3)  # whole 20 s chunks plus the 3 s file


def test_voices_are_disjoint_across_splits(built: tuple) -> None:
    dataset = built[0]
    voices = {
        name: set(dataset.split(name).positives.voices) | set(dataset.split(name).negatives.voices)
        for name in ("train", "val", "test")
    }
    assert not voices["train"] & voices["val"]
    assert not voices["train"] & voices["test"]
    assert not voices["val"] & voices["test"]
    variants = {name: {v.split("+")[-1] for v in vs if "+" in v} for name, vs in voices.items()}
    assert not variants["train"] & variants["test"]


def test_test_split_keeps_audio_for_peers(built: tuple) -> None:
    dataset = built[0]
    test = dataset.test
    assert test.positives.pcm is not None and len(test.positives.pcm) == len(
        test.positives.features
    )
    assert all(p.dtype == np.int16 and p.size == 32000 for p in test.positives.pcm)
    assert test.stream_pcm is not None
    assert test.stream_pcm.size / 16000 / 3600 == pytest.approx(test.stream_hours)
    assert dataset.train.positives.pcm is None and dataset.train.stream_pcm is None


def test_progress_advances_once_per_clip_and_chunk(built: tuple) -> None:
    dataset, recipe, _, advanced = built
    n_clips = sum(sum(recipe.budget(s)[:2]) for s in ("train", "val", "test"))
    assert advanced == n_clips + 2 + 1 + 2  # 20 s chunks per split


def test_second_build_is_a_cache_hit_with_the_same_arrays(built: tuple) -> None:
    dataset, recipe, cache, _ = built
    again = build_dataset(recipe, cache)
    assert again.stats["cache_hit"] is True and dataset.stats["cache_hit"] is False
    np.testing.assert_array_equal(again.test.stream_features, dataset.test.stream_features)
    for mine, cached in zip(
        dataset.train.positives.features, again.train.positives.features, strict=True
    ):
        np.testing.assert_array_equal(mine, cached)
    assert again.test.positives.voices == dataset.test.positives.voices
    assert list(cache.glob("*.npz")) == [dataset.cache_path] == [again.cache_path]  # no partial
    other = build_dataset(_smallest_recipe(), cache)
    assert other.stats["cache_hit"] is False  # another recipe, another file


def _dies_on_validation(job: ClipJob) -> object:
    if job.split == "val":
        os._exit(3)  # what a segfault in the speech engine does to the worker
    return make_clip(job)


def test_a_worker_that_dies_is_one_clear_error_and_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_module, "make_clip", _dies_on_validation)
    with pytest.raises(TrainingError, match="died while making the val split's audio"):
        build_dataset(_smallest_recipe(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def _no_embedding(files: object) -> None:
    """A verifier worker that starts without onnxruntime's sessions (it never embeds)."""


def _dies(job: ClipJob) -> object:
    os._exit(3)


def test_a_verifier_data_worker_that_dies_is_the_same_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from training import verifier

    monkeypatch.setattr(verifier, "_start_worker", _no_embedding)
    monkeypatch.setattr(verifier, "_make_clip", _dies)
    bundle = SimpleNamespace(keyword=KEYWORD, noise_floor_dbfs=-60.0)
    settings = verifier.VerifierSettings(workers=1)
    with pytest.raises(TrainingError, match="died while making the verifier's train split"):
        verifier.make_data(bundle, settings, 0, {})  # type: ignore[arg-type]


def test_confusables_and_pronunciations_for_the_keyword() -> None:
    pronunciations, confusables, sound_alikes = phrase_lists("hey jarvis", 0)
    assert {"hey", "jarvis", "hey jar"} <= set(confusables)
    assert "hey jarvis" not in confusables
    keyword = phonemes.text_to_phonemes("hey jarvis")
    assert all(
        phonemes.phoneme_distance(keyword, phonemes.text_to_phonemes(c)) > MIN_CONFUSABLE_DISTANCE
        for c in confusables
    )
    assert sound_alikes["hey"]  # real words: "day", "say", ...
    assert all(p.startswith("[[") and p.endswith("]]") for p in pronunciations)
    assert len(set(pronunciations)) >= 6
    audio = synthesize(pronunciations[0])
    assert np.abs(audio).max() > 3000


def test_slow_keywords_are_fitted_whole_into_the_clip() -> None:
    from training.data.clips import MAX_KEYWORD_S, fit_keyword

    slow = augment.to_float(synthesize("okay nabu", VoiceSettings("en-us", rate_wpm=80)))
    assert slow.size > 1.6 * 16000  # longer than the full model's window as espeak says it
    fitted = fit_keyword(slow)
    assert MAX_KEYWORD_S * 16000 - 200 <= fitted.size <= MAX_KEYWORD_S * 16000
    quick = augment.to_float(synthesize("okay nabu", VoiceSettings("en-us", rate_wpm=200)))
    trimmed = fit_keyword(quick)
    assert trimmed.size <= quick.size and trimmed.size > 0.8 * quick.size  # only silence cut


def test_keyword_parts_are_frequent_confusables() -> None:
    from training.data.clips import SpeechPlan, pick_confusable

    pronunciations, confusables, _ = phrase_lists("hey jarvis", 0)
    plan = SpeechPlan("hey jarvis", ("en-us",), pronunciations, confusables, 0)
    rng = np.random.default_rng(0)
    drawn = [pick_confusable(plan, rng) for _ in range(2000)]
    share = np.mean([phrase in ("hey", "jarvis", "hey jar") for phrase in drawn])
    assert share == pytest.approx(0.4 + 0.6 * 3 / len(confusables), abs=0.04)
    assert len(set(drawn)) == len(confusables)  # every confusable still used
