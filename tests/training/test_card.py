"""``CARD.md``, rendered by training from a bundle's manifest and report."""

from __future__ import annotations

from training.card import render_card


def test_the_card_shows_real_speech_and_context_figures() -> None:
    manifest = {
        "keyword": "smart mirror",
        "evaluation": {
            "cascade_at_shipped_thresholds": {
                "frr": 0.2,
                "frr alone": 0.1,
                "frr after a sentence and a pause": 0.3,
            },
            "real_speech": {
                "data_dir": "realspeech",
                "folders": {"smart mirror": 369, "snowboy": 401},
                "lead_in_s": 1.0,
                "snr_db": 10.0,
                "frr_clean": 0.58,
                "frr_noisy": 0.588,
                "others_accepted": 0.001,
                "others": 401,
            },
        },
    }
    card = render_card({"keyword": "smart mirror"}, {"evaluation": manifest["evaluation"]})
    assert "by what the keyword follows: alone 10.0%, after a sentence and a pause 30.0%" in card
    assert "## Real people (measurement only)" in card
    assert "| smart mirror | 58.0% | 58.8% | 0.1% of 401 |" in card
    manifest["evaluation"]["real_speech"] = {"folders": {"snowboy": 401}, "others": 401}
    assert "| smart mirror | no recordings of it | - | ? of 401 |" in render_card(manifest)


def test_the_card_says_whether_its_figures_include_the_noise_floor() -> None:
    trained = {"keyword": "snowboy", "noise_floor_dbfs": -60.0}
    trained["training"] = {"noise_floor_dbfs": -60.0}
    assert "Pink noise at -60 dBFS RMS" in render_card(trained)
    assert "the figures below were measured through it" in render_card(trained)
    added_later = {"keyword": "hey jarvis", "noise_floor_dbfs": -60.0, "training": {}}
    assert "added after this bundle was trained" in render_card(added_later)
    assert "Noise floor" not in render_card({"keyword": "alexa"})
