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
    manifest["evaluation"]["real_speech"].update(
        others_accepted=0.0912,
        others=768,
        others_accepted_by_phrase={"snowboy": 0.157, "view glass": 0.03},
    )
    card = render_card({"keyword": "smart mirror"}, {"evaluation": manifest["evaluation"]})
    assert "| 9.1% of 768 (snowboy 15.7%, view glass 3.0%) |" in card
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


def test_the_card_says_which_full_model_was_kept_and_by_what() -> None:
    def row(start: int, epochs: int, clean: int, noisy: int) -> dict[str, object]:
        return {"start": start, "qat_epochs": epochs, "missed_clean": clean, "missed_noisy": noisy}

    selection = {
        "kept": {"start": 2, "qat_epochs": 0},
        "by": "misses on other engines' voices at each candidate's own thresholds",
        "voices": ["flite:awb", "festival:kal_diphone"],
        "voice_licence": "Flite (BSD-style)",
        "clips": 200,
        "snr_db": 10.0,
        "margin": 6.9,
        "validation_would_keep": {"start": 1, "qat_epochs": 4},
        "candidates": [row(1, 0, 14, 51), row(1, 4, 15, 52), row(2, 0, 3, 49), row(2, 4, 13, 56)],
    }
    report = {"training": {"full": {"starts": 2, "start_kept": 2, "selection": selection}}}
    card = render_card({"keyword": "smart mirror"}, report)
    assert "Kept: start 2 of 2 after 0 QAT epochs (`--choose-full voices`). Each of 4" in card
    assert "(flite:awb, festival:kal_diphone), clean and at 10 dB SNR" in card
    assert "within 6.9 misses (one standard error) of the fewest (52)" in card
    assert "3 clean and 49 noisy of 200 missed" in card
    assert "would have kept start 1 after 4 QAT epochs (15 clean and 52 noisy missed)" in card
    assert "Licence: Flite (BSD-style)." in card
    report["training"]["full"]["selection"] = {
        "kept": {"start": 1, "qat_epochs": 3},
        "by": "validation",
        "why": "the voices are not installed (make setup-voices: flite ...)",
    }
    card = render_card({"keyword": "smart mirror"}, report)
    assert "missed least of validation's voices (the voices are not installed" in card
