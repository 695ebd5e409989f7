"""Generated scenarios: chunking, stated noise level, keyword placement and rate."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from firmware_sim.scenarios import CHUNK_S, SAMPLE_RATE_HZ, Scenario, generate, get_scenario
from kws.errors import KwsError


def test_noise_only_scenario_has_the_stated_level() -> None:
    silent = Scenario(
        "n", speech_share=0.0, keywords_per_hour=0.0, noise_dbfs=-40.0, speech_dbfs=-20.0
    )
    chunks = list(generate(silent, "hey jarvis", minutes=1.0, seed=1))
    assert len(chunks) == 2
    for pcm, times in chunks:
        assert pcm.dtype == np.int16 and pcm.size == int(CHUNK_S * SAMPLE_RATE_HZ)
        assert times == []
        rms_dbfs = 20 * np.log10(np.sqrt(np.mean((pcm / 32768.0) ** 2)))
        assert rms_dbfs == pytest.approx(-40.0, abs=0.2)


def test_one_keyword_per_chunk_when_the_rate_saturates() -> None:
    # 120 keywords/h over a 30 s chunk is a probability of 1: exactly one keyword per chunk.
    busy = Scenario(
        "k", speech_share=0.0, keywords_per_hour=120.0, noise_dbfs=-60.0, speech_dbfs=-20.0
    )
    chunks = list(generate(busy, "hey jarvis", minutes=1.5, seed=2))
    times = [t for _, chunk_times in chunks for t in chunk_times]
    assert len(chunks) == 3 and len(times) == 3
    for index, t in enumerate(times):
        assert index * CHUNK_S < t <= (index + 1) * CHUNK_S + 3.0
        # the keyword ends at t: the half second before it is louder than the noise floor
        pcm = chunks[index][0] if t <= (index + 1) * CHUNK_S else chunks[index + 1][0]
        end = int((t - index * CHUNK_S) * SAMPLE_RATE_HZ) % pcm.size
        before = pcm[max(0, end - SAMPLE_RATE_HZ // 2) : end] / 32768.0
        assert 20 * np.log10(np.sqrt(np.mean(before**2))) > -40.0


def test_more_speech_means_more_energy() -> None:
    quiet = np.concatenate(
        [pcm for pcm, _ in generate(get_scenario("quiet"), "hey jarvis", 1.0, 3)]
    )
    tv = np.concatenate([pcm for pcm, _ in generate(get_scenario("tv"), "hey jarvis", 1.0, 3)])
    assert np.mean((tv / 32768.0) ** 2) > 10 * np.mean((quiet / 32768.0) ** 2)


def test_unknown_scenario_is_a_kws_error() -> None:
    with pytest.raises(KwsError, match="office"):
        get_scenario("stadium")


def test_same_seed_same_audio_across_processes() -> None:
    code = (
        "import hashlib\n"
        "from firmware_sim.scenarios import generate, get_scenario\n"
        "h = hashlib.md5()\n"
        "for pcm, _ in generate(get_scenario('tv'), 'hey jarvis', 1.0, 5):\n"
        "    h.update(pcm.tobytes())\n"
        "print(h.hexdigest())\n"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(runs) == 1
