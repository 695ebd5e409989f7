"""A bundle's model card (``CARD.md``), rendered by training from what the bundle records:
its manifest (models, thresholds, noise floor) and its report (what training measured and did).
The runtime never renders or reads it."""

from __future__ import annotations

import json
from typing import Any


def _percent(value: Any, missing: str = "?") -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else missing


def _by_phrase(figures: dict[str, Any]) -> str:
    """Each other phrase's share accepted, as ' (smart mirror 15.7%, view glass 3.0%)', where
    there are two or more and the figures have them (bundles measured before did not)."""
    shares = figures.get("others_accepted_by_phrase")
    if not isinstance(shares, dict) or len(shares) < 2:
        return ""
    return " (" + ", ".join(f"{phrase} {_percent(share)}" for phrase, share in shares.items()) + ")"


def _real_speech_lines(keyword: str, figures: Any) -> list[str]:
    """The card's section on real people (``kws train --real-speech``), if measured."""
    if not isinstance(figures, dict):
        return []
    folders = figures.get("folders", {})
    lines = [
        "",
        "## Real people (measurement only)",
        "",
        f"Recordings in `{figures.get('data_dir', '?')}`: "
        + ", ".join(f"{phrase} {count}" for phrase, count in folders.items())
        + f", each after {figures.get('lead_in_s', '?')} s of its own room tone, as "
        f"`kws bench realspeech` plays them; noisy: mixed at {figures.get('snr_db', '?')} dB SNR. "
        "Nothing in training was chosen by them.",
        "",
        "| cascade at the shipped thresholds | missed clean | missed noisy | others accepted |",
        "|---|---|---|---|",
        f"| {keyword} | {_percent(figures.get('frr_clean'), 'no recordings of it')} | "
        f"{_percent(figures.get('frr_noisy'), '-')} | {_percent(figures.get('others_accepted'))} "
        f"of {figures.get('others', '?')}{_by_phrase(figures)} |",
    ]
    return lines


def _floor_lines(manifest: dict[str, Any]) -> list[str]:
    """The card's word on the bundle's noise floor, and whether its figures include it."""
    floor = manifest.get("noise_floor_dbfs")
    if floor is None:
        return []
    trained = manifest.get("training", {}).get("noise_floor_dbfs")
    measured = (
        "Training's clips and streams carried the same floor: the figures below were measured "
        "through it."
        if trained == floor
        else "It was added after this bundle was trained: the figures below were measured "
        "without it (docs/RESULTS.md measures the bundle with it)."
    )
    return [
        "",
        "## Noise floor",
        "",
        f"Pink noise at {floor:g} dBFS RMS is added under all audio before the frontend "
        f"(`kws.noise_floor`; `--noise-floor off` leaves it out). {measured}",
    ]


def _selection_lines(manifest: dict[str, Any]) -> list[str]:
    """The card's word on which full-model candidate was kept, and by what."""
    full = manifest.get("training", {}).get("full", {})
    selection = full.get("selection")
    if not isinstance(selection, dict):
        return []
    kept = f"start {full.get('start_kept', '?')} of {full.get('starts', '?')}"
    if selection.get("by") == "validation":
        why = f" ({selection['why']})" if selection.get("why") else ""
        return [
            "",
            "## Which full model",
            "",
            f"Kept: {kept}, the QAT epoch and start that missed least of validation's voices{why}.",
        ]
    rows = [r for r in selection.get("candidates", []) if isinstance(r, dict)]

    def row_of(which: Any) -> dict[str, Any]:
        which = which if isinstance(which, dict) else {}
        return next(
            (
                r
                for r in rows
                if (r.get("start"), r.get("qat_epochs"))
                == (which.get("start"), which.get("qat_epochs"))
            ),
            {},
        )

    chosen = row_of(selection.get("kept"))
    other = selection.get("validation_would_keep", {})
    other_row = row_of(other)
    clips = selection.get("clips", "?")
    snr_db = f"{selection['snr_db']:g}" if isinstance(selection.get("snr_db"), float) else "?"
    fewest = min((r.get("missed_clean", 0) + r.get("missed_noisy", 0) for r in rows), default="?")

    def missed(row: dict[str, Any]) -> str:
        return f"{row.get('missed_clean', '?')} clean and {row.get('missed_noisy', '?')} noisy"

    return [
        "",
        "## Which full model",
        "",
        f"Kept: {kept} after {chosen.get('qat_epochs', '?')} QAT epochs (`--choose-full "
        f"voices`). Each of {len(rows)} candidates heard {clips} clips of the keyword said by "
        f"other engines' voices ({', '.join(selection.get('voices', []))}), clean and at "
        f"{snr_db} dB SNR, at the thresholds it would ship with; of those "
        f"within {selection.get('margin', '?')} misses (one standard error) of the fewest "
        f"({fewest}), this one misses least on validation: {missed(chosen)} of {clips} missed. "
        f"Validation alone would have kept start {other.get('start', '?')} after "
        f"{other.get('qat_epochs', '?')} QAT epochs ({missed(other_row)} missed). These voices "
        "rank candidates as real people do; they never train a model (`training.selection`). "
        f"Licence: {selection.get('voice_licence', '?')}.",
    ]


def _verifier_lines(manifest: dict[str, Any]) -> list[str]:
    """The card's section on the verifier after the cascade (``kws train --verifier``)."""
    spec = manifest.get("verifier")
    figures = manifest.get("evaluation", {}).get("verifier")
    if not isinstance(spec, dict) or not isinstance(figures, dict):
        return []
    before = figures.get("thresholds_before", {})
    alone, verified = figures.get("test_alone", {}), figures.get("test_with_verifier", {})
    return [
        "",
        "## Verifier (after the cascade, where the device runs Python)",
        "",
        f"Each detection counts only when a head on a speech embedding scores at least "
        f"{spec.get('threshold', '?')} on a 1.98 s window ending up to {spec.get('before_s', '?')} "
        f"s before it (`kws.verifier`; runtime: `pip install 'kws[verifier]'`). Embedding: "
        f"{spec.get('source', '?')}. The head was trained on this bundle's synthetic speech "
        f"only. With it the cascade runs at wake {manifest.get('thresholds', {}).get('wake')} / "
        f"detect {manifest.get('thresholds', {}).get('detect')} (without it: wake "
        f"{before.get('wake', '?')} / detect {before.get('detect', '?')}, the thresholds the "
        f"figures above were measured at), chosen on {figures.get('chosen_on', '?')}.",
        "",
        "| test voices (synthetic) | FRR | FA/h | keyword-free clips accepted |",
        "|---|---|---|---|",
        f"| cascade alone (wake {before.get('wake', '?')} / detect {before.get('detect', '?')}) | "
        f"{_percent(alone.get('frr'))} | {alone.get('fa_per_hour', '?')} | "
        f"{_percent(alone.get('negatives_accepted'))} |",
        f"| cascade + verifier | {_percent(verified.get('frr'))} | "
        f"{verified.get('fa_per_hour', '?')} | {_percent(verified.get('negatives_accepted'))} |",
        *_verifier_real_speech(manifest.get("keyword", "?"), figures.get("real_speech")),
    ]


def _verifier_real_speech(keyword: str, figures: Any) -> list[str]:
    """The card's word on real people with the verifier, if they were measured."""
    if not isinstance(figures, dict):
        return []
    return [
        "",
        f"With the verifier, on the recordings of people in `{figures.get('data_dir', '?')}` "
        "(measurement only, as in the section on real people): "
        f"{_percent(figures.get('frr_clean'), 'no recordings of it')} of {keyword} missed clean, "
        f"{_percent(figures.get('frr_noisy'), '-')} at {figures.get('snr_db', '?')} dB SNR, "
        f"{_percent(figures.get('others_accepted'))} of {figures.get('others', '?')} other "
        f"phrases' recordings accepted{_by_phrase(figures)}.",
    ]


def render_card(manifest: dict[str, Any], report: dict[str, Any] | None = None) -> str:
    """A model card (Markdown) from a bundle's manifest and report (schema 1: the manifest
    alone, which held both)."""
    manifest = {**manifest, **(report or {})}
    lines = [f"# {manifest.get('keyword', '?')} — kws model card", ""]
    lines += [
        "Generated from `manifest.json` and `report.json`; every figure below was measured at "
        "export.",
        "",
    ]
    lines += ["## Models", ""]
    lines += [
        "| model | architecture | input | params | int8 bytes | MACs per inference | "
        "inferences per s when running | arena estimate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for role, model in manifest.get("models", {}).items():
        shape = model.get("inputs", [{}])[0].get("shape", "?")
        per_second = 100 / model["stride_frames"] if model.get("stride_frames") else "?"
        lines.append(
            f"| {role} | {model.get('architecture', '?')} | {shape} | {model.get('params', '?')} | "
            f"{model.get('bytes', '?')} | {model.get('macs_per_inference', '?')} | "
            f"{per_second if isinstance(per_second, str) else round(per_second, 1)} | "
            f"{model.get('arena_bytes', '?')} |"
        )
    thresholds = manifest.get("thresholds", {})
    if thresholds:
        lines += ["", "## Thresholds", ""]
        lines += [f"- {key}: {value}" for key, value in thresholds.items()]
        choice = manifest.get("evaluation", {}).get("threshold_choice")
        if isinstance(choice, dict):
            lines += [
                "",
                f"Chosen on {choice.get('on', '?')}: the full model alone needs a detect "
                f"threshold of {choice.get('full_alone_detect', '?')} for "
                f"{manifest['evaluation'].get('target_fa_per_hour', '?')} FA/h; the cascade "
                "meets that rate at the detect threshold above, with the wake threshold a step "
                "below the highest that keeps "
                f"{_percent(choice.get('wake_keeps_of_full_detections'))} of the full model's "
                f"detections (wake, detect by step: "
                + ", ".join(
                    f"{r.get('wake')}, {r.get('detect')}"
                    for r in choice.get("steps", [])
                    if isinstance(r, dict)
                )
                + ").",
            ]
    lines += _floor_lines(manifest)
    lines += _selection_lines(manifest)
    lines += _verifier_lines(manifest)
    evaluation = manifest.get("evaluation", {})
    if evaluation:
        split = evaluation.get("test_split", {})
        lines += ["", "## Measured performance (held-out test voices)", ""]
        lines += [
            f"Test split: {split.get('positives', '?')} keyword clips "
            f"({split.get('positives_snr_db', '?')} SNR), {split.get('stream_hours', '?')} h "
            f"of keyword-free stream ({split.get('stream_is', 'speech and noise')}), "
            f"{split.get('negative_clips', '?')} keyword-free clips "
            f"({split.get('negative_clips_are', '?')}). FRR = false-reject rate, FA/h = false "
            "accepts per hour of the stream, clips accepted = share of keyword-free clips that "
            "fire.",
            "",
        ]
        lines += ["| detector | FRR | FA/h | clips accepted |", "|---|---|---|---|"]
        rows = [
            (label, evaluation.get(key, {}))
            for label, key in (
                ("cascade at the shipped thresholds", "cascade_at_shipped_thresholds"),
                (
                    "full model on every step, same detect threshold",
                    "full_only_at_shipped_thresholds",
                ),
            )
        ]
        mww = evaluation.get("microwakeword", {})
        if mww.get("available"):
            at = mww.get("at_its_cutoff", {})
            rows.append((f"{mww.get('model')} at its cutoff {at.get('cutoff')}", at))
        oww = evaluation.get("openwakeword", {})
        if oww.get("available"):
            at = oww.get("at_its_threshold", {})
            label = f"{oww.get('model')} at its threshold {at.get('threshold')}"
            rows.append((f"{label} (FA/h on the first {oww.get('stream_hours', '?')} h)", at))
        for label, row in rows:
            lines.append(
                f"| {label} | {_percent(row.get('frr'))} | {row.get('fa_per_hour', '?')} | "
                f"{_percent(row.get('negative_clips_accepted'))} |"
            )
        cascade = evaluation.get("cascade_at_shipped_thresholds", {})
        contexts = {k[4:]: v for k, v in cascade.items() if k.startswith("frr ")}
        if contexts:
            lines += [
                "",
                "The cascade's FRR by what the keyword follows: "
                + ", ".join(f"{context} {_percent(frr)}" for context, frr in contexts.items())
                + ".",
            ]
        lines += _real_speech_lines(manifest.get("keyword", "?"), evaluation.get("real_speech"))
        comparison = evaluation.get("qat_vs_ptq", {})
        if comparison:
            target = evaluation.get("target_fa_per_hour", "?")
            lines += [
                "",
                f"Quantization-aware training against post-training quantization (FRR at {target} "
                "FA/h, and the mean FRR at 0.5, 1, 2 and 5 FA/h, on the test split; the QAT epoch "
                "kept is the one whose int8 model missed least on validation, for the full model "
                "by the rule above, 0 meaning the PTQ model):",
                "",
                "| model | QAT FRR | PTQ FRR | QAT mean FRR | PTQ mean FRR | QAT epochs kept |",
                "|---|---|---|---|---|---|",
            ]
            for role, row in comparison.items():
                kept = row.get("qat_epochs_kept", "?")
                lines.append(
                    f"| {role} | {_percent(row.get('qat_frr'))} | {_percent(row.get('ptq_frr'))} | "
                    f"{_percent(row.get('qat_mean_frr_0.5_to_5_fa_per_hour'))} | "
                    f"{_percent(row.get('ptq_mean_frr_0.5_to_5_fa_per_hour'))} | "
                    f"{kept} of {row.get('qat_epochs_trained', '?')} |"
                )
        lines += [
            "",
            "Full figures (QAT and PTQ exports of both models, DET data in `det.csv`):",
            "",
        ]
        lines += ["```json", json.dumps(evaluation, indent=2), "```"]
    training = manifest.get("training", {})
    if training:
        lines += ["", "## Training", ""]
        lines += [f"- {key}: `{json.dumps(value)}`" for key, value in training.items()]
    return "\n".join(lines) + "\n"
