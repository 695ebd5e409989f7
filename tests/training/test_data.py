"""Training data: synthesis, augmentation, splits, real-data layouts, cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from kws import synth
from kws.synth import VoiceSettings, english_voices, synthesize, voice_variants
from training.data import augment
from training.data.dataset import DataRecipe, split_voices
from training.data.real import load_real_audio, speech_end_sample
from training.data.text import confusables


@pytest.mark.parametrize("voice", ["en-us", "en-GB-x-rp+f3", "en-029+m5", "en+klatt2"])
def test_synthesis_is_audible_16khz_int16(voice: str) -> None:
    pcm = synthesize("hey nova", VoiceSettings(voice, rate_wpm=170))
    assert pcm.dtype == np.int16
    assert 0.3 * 16000 < pcm.size < 3 * 16000
    assert np.abs(pcm).max() > 3000


def test_the_low_wide_variants_do_not_crash_espeak() -> None:
    """libespeak-ng segfaulted on these (kws.synth._PITCH_RANGE_CAPS); in a child process, so a
    crash fails this test instead of ending the run."""
    sentence = "List starts with original calling frame, if there is one"
    code = (
        "from kws.synth import VoiceSettings, synthesize\n"
        "for variant in ('Demonic', 'rob'):\n"
        "    for pitch in (0, 9):\n"
        "        settings = VoiceSettings('en+' + variant, 150, pitch, 80, 3)\n"
        f"        pcm = synthesize({sentence!r}, settings)\n"
        "        assert pcm.size > 16000, pcm.size\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-500:]


def test_pitch_range_is_capped_where_espeak_crashes() -> None:
    wide = {variant: VoiceSettings(f"en+{variant}", pitch_range=100) for variant in ("m3", "rob")}
    assert synth._pitch_range(wide["m3"]) == synth.MAX_PITCH_RANGE == 80
    assert synth._pitch_range(wide["rob"]) == 60
    assert synth._pitch_range(VoiceSettings("en+rob", pitch_range=40)) == 40


def test_many_voices_and_variants() -> None:
    assert len(english_voices()) >= 8
    assert len(voice_variants()) >= 50


def test_splits_share_no_voice_variant() -> None:
    splits = split_voices(seed=0)
    variants = {name: {v.split("+")[1] for v in voices} for name, voices in splits.items()}
    assert not variants["train"] & variants["val"]
    assert not variants["train"] & variants["test"]
    assert not variants["val"] & variants["test"]


def test_augmentation_is_deterministic_for_a_seed() -> None:
    speech = augment.to_float(synthesize("hey nova"))
    one = augment.augment_speech(speech, np.random.default_rng(5))
    two = augment.augment_speech(speech, np.random.default_rng(5))
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 25.0])
def test_mix_at_snr_hits_the_requested_snr(snr_db: float) -> None:
    rng = np.random.default_rng(1)
    speech = augment.to_float(synthesize("hey nova"))
    noise = augment.make_noise("pink", speech.size, rng)
    mixed = augment.mix_at_snr(speech, noise, snr_db)
    measured = 20 * np.log10(augment.rms(speech) / augment.rms(mixed - speech))
    assert measured == pytest.approx(snr_db, abs=0.01)


def test_band_limit_removes_energy_above_cutoff() -> None:
    noise = augment.make_noise("white", 16000, np.random.default_rng(2))
    limited = augment.band_limit(noise, 300.0, 3400.0)
    spectrum = np.abs(np.fft.rfft(limited)) ** 2
    freqs = np.fft.rfftfreq(limited.size, 1 / 16000)
    assert spectrum[freqs > 5000].sum() < 0.01 * spectrum[(freqs > 500) & (freqs < 3000)].sum()


def test_confusables_never_contain_the_keyword() -> None:
    phrases = confusables("hey jarvis", np.random.default_rng(0), 40)
    assert len(phrases) == 40 and "hey jarvis" not in phrases
    assert {"hey", "jarvis"} <= set(phrases)


def test_speech_end_found() -> None:
    pcm = np.concatenate([np.zeros(8000, np.int16), synthesize("nova"), np.zeros(8000, np.int16)])
    end = speech_end_sample(pcm)
    assert pcm.size - 8000 - 1600 <= end <= pcm.size - 8000 + 160


def test_speech_commands_layout_loads(tmp_path: Path) -> None:
    root = tmp_path / "sc"
    for word, speaker in (("nova", "aa11"), ("nova", "bb22"), ("house", "cc33"), ("house", "aa11")):
        folder = root / word
        folder.mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / f"{speaker}_nohash_0.wav", synthesize(word), 16000)
    (root / "_background_noise_").mkdir()
    soundfile.write(
        root / "_background_noise_" / "pink.wav",
        augment.to_int16(0.1 * augment.make_noise("pink", 32000, np.random.default_rng(0))),
        16000,
    )
    (root / "testing_list.txt").write_text("nova/bb22_nohash_0.wav\n")
    (root / "validation_list.txt").write_text("house/cc33_nohash_0.wav\n")
    real = load_real_audio(DataRecipe("nova", speech_commands_dir=root))
    assert len(real.positives["train"]) == 1 and len(real.positives["test"]) == 1
    assert len(real.negatives["val"]) == 1 and len(real.negatives["train"]) == 1
    assert sum(len(v) for v in real.streams.values()) == 1
    features, end_frame, voice, pcm, context = real.positives["test"][0]
    assert features.shape == (198, 40) and features.dtype == np.uint16 and context == "a recording"
    assert voice == "sc:bb22" and pcm is not None and 0 < end_frame < 198


def test_speech_commands_negatives_are_sampled_across_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.data.real as real_module

    root = tmp_path / "sc"
    words = ("apple", "bed", "cat", "dog", "nova")
    for word in words:
        (root / word).mkdir(parents=True)
        for speaker in range(4):
            path = root / word / f"{word}{speaker}_nohash_0.wav"
            soundfile.write(path, synthesize(word), 16000)
    monkeypatch.setattr(real_module, "MAX_SPEECH_COMMANDS_NEGATIVES", 6)
    real = load_real_audio(DataRecipe("nova", speech_commands_dir=root, seed=1))
    negatives = [r for records in real.negatives.values() for r in records]
    positives = [r for records in real.positives.values() for r in records]
    assert len(negatives) == 6 and len(positives) == 4
    # A seeded draw across all 16 files, not the first 6 in folder order (apple, then bed).
    drawn_words = {voice.removeprefix("sc:")[:-1] for _, _, voice, _, _ in negatives}
    assert len(drawn_words) >= 3 and drawn_words <= {"apple", "bed", "cat", "dog"}


def test_missing_real_folder_is_a_training_error(tmp_path: Path) -> None:
    from kws.errors import TrainingError

    with pytest.raises(TrainingError, match="not a folder"):
        load_real_audio(DataRecipe("nova", recordings_dir=tmp_path / "absent"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainingError, match="no audio files"):
        load_real_audio(DataRecipe("nova", recordings_dir=tmp_path / "empty"))


def test_adding_a_recording_changes_the_cache_key(tmp_path: Path) -> None:
    from training.data.real import folders_digest

    folder = tmp_path / "recordings"
    folder.mkdir()
    soundfile.write(folder / "a.wav", synthesize("nova"), 16000)
    recipe = DataRecipe("nova", recordings_dir=folder)
    before = folders_digest(recipe)
    assert folders_digest(recipe) == before
    soundfile.write(folder / "b.wav", synthesize("nova"), 16000)
    assert folders_digest(recipe) != before
    assert folders_digest(DataRecipe("nova")) == folders_digest(DataRecipe("nova", seed=4))


def test_changing_the_budget_tables_changes_the_cache_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from training.data import containers

    recipe = DataRecipe("nova")
    before = recipe.cache_key("frontend", "code")
    assert recipe.cache_key("frontend", "code") == before
    longer = {**containers.FULL_BUDGET, "val": (300, 400, 999.0)}
    monkeypatch.setattr(containers, "FULL_BUDGET", longer)
    assert recipe.cache_key("frontend", "code") != before


def test_some_positives_follow_a_sentence_after_a_pause() -> None:
    """A keyword said after a pause in conversation ("...tomorrow. [0.8 s] hey jarvis") must be
    in the data: models trained without it missed most such keywords. The sentence may start in
    the lead-in, which the frontend hears but the model does not see."""
    from training.data.clips import SpeechPlan, keyword_clip

    plan = SpeechPlan("hey jarvis", ("en+m1",), (), ("hey",), seed=0)
    n_lead, n_clip = 16000, 32000
    lead_in_speech, long_pauses = 0, 0
    contexts = []
    for index in range(40):
        audio, end, context = keyword_clip(
            plan, "en+m1", np.random.default_rng(index), n_lead, n_clip
        )
        contexts.append(context)
        assert audio.shape == (n_lead + n_clip,) and 1.25 * 16000 <= end <= n_clip
        sound = np.flatnonzero(np.abs(audio).reshape(-1, 160).max(axis=1) > 1e-3)  # 10 ms frames
        lead_in_speech += bool(sound.size and sound[0] < n_lead // 160)
        long_pauses += bool((np.diff(sound) > 30).any())  # over 0.3 s of silence between sounds
    assert lead_in_speech >= 4  # a quarter follow a sentence, which often reaches the lead-in
    assert long_pauses >= 4
    # each clip says what came before its keyword, for the test split's FRR by context
    from training.data.clips import CONTEXTS

    assert set(contexts) == set(CONTEXTS)
    assert 4 <= contexts.count("after a sentence and a pause") <= 20


def test_every_clip_carries_the_recipe_s_noise_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime adds the bundle's floor under all it hears; training adds the same floor,
    from each clip's first sample, so thresholds and test figures are measured through it."""
    from kws.noise_floor import NoiseFloor
    from training.data import clips
    from training.data.clips import ClipJob, SpeechPlan, make_clip

    # espeak-ng's output depends on what the process said before: a fixed "voice" instead
    tone = (0.3 * np.sin(np.arange(8000) * 0.2)).astype(np.float32)
    monkeypatch.setattr(clips, "speak", lambda phrase, voice, rng: tone.copy())

    def clip(floor: float | None) -> np.ndarray:
        plan = SpeechPlan("hey jarvis", ("en+m1",), (), ("hey",), seed=0, noise_floor_dbfs=floor)
        pcm = make_clip(ClipJob(plan, "test", "neg", 3, keep_pcm=True))[3]
        assert pcm is not None
        return np.asarray(pcm)

    bare, floored = clip(None), clip(-60.0)
    lead = 16000  # the lead-in heard before the clip kept
    with_floor = NoiseFloor(-60.0).add(np.zeros(lead + bare.size, np.int16))[lead:]
    expected = np.clip(bare.astype(np.int32) + with_floor, -32768, 32767)
    assert not np.array_equal(bare, floored)
    assert np.abs(floored.astype(np.int32) - expected).max() <= 1  # rounding of the float sum
    assert DataRecipe("nova").noise_floor_dbfs == -60.0
    no_floor = DataRecipe("nova", noise_floor_dbfs=None)
    assert DataRecipe("nova").cache_key("x") != no_floor.cache_key("x")


def test_the_text_corpus_leaves_out_kws_own_metadata() -> None:
    """kws's METADATA is its README: with it in the corpus every README edit (once
    reinstalled) would be a new dataset, and a reinstall during a training a new cache key."""
    from training.data import text

    files = text._text_files()
    assert files  # the corpus reads something
    assert not [path for path in files if "kws-" in path.parent.name]


def test_loud_backgrounds_are_a_crowd_or_music_over_training_clips_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loud scenes (a crowd or music, -8 to 5 dB SNR) are drawn for training clips only:
    validation and test clips, which choose and report the thresholds, are the same with the
    share at 0 and at 1; the recipe's share keys the cache and reaches the training plan only."""
    import dataclasses

    from training.data import augment, clips
    from training.data.clips import ClipJob, SpeechPlan, clip_audio, loud_background

    tone = (0.3 * np.sin(np.arange(8000) * 0.2)).astype(np.float32)
    monkeypatch.setattr(clips, "speak", lambda phrase, voice, rng: tone.copy())
    plan = SpeechPlan("hey jarvis", ("en+m1",), (), ("hey",), seed=0, noise_floor_dbfs=-60.0)
    crowds = []
    real_babble = clips.babble
    monkeypatch.setattr(clips, "babble", lambda *a, **k: crowds.append(k) or real_babble(*a, **k))
    snrs = []
    for index in range(24):
        noise, snr_db = loud_background(plan, np.random.default_rng(index), 2 * 16000)
        assert noise.shape == (32000,) and augment.rms(noise) == pytest.approx(1.0, rel=1e-2)
        snrs.append(snr_db)
    assert 0 < len(crowds) < 24  # crowds and music
    assert all(k["talkers"][0] >= 4 for k in crowds)
    assert clips.LOUD_SNR_DB[0] <= min(snrs) and max(snrs) <= clips.LOUD_SNR_DB[1]
    assert min(snrs) < 0.0  # louder than the speech, unlike the other clips' 0-30 dB

    def audio(split: str, kind: str, share: float) -> np.ndarray:
        shared = dataclasses.replace(plan, loud_share=share)
        return clip_audio(ClipJob(shared, split, kind, 5, keep_pcm=False))[0]

    for split in ("val", "test"):
        for kind in ("pos", "neg"):
            assert np.array_equal(audio(split, kind, 0.0), audio(split, kind, 1.0))
    assert not np.array_equal(audio("train", "pos", 0.0), audio("train", "pos", 1.0))
    assert DataRecipe("nova").cache_key("x") != DataRecipe("nova", loud_share=0.35).cache_key("x")
