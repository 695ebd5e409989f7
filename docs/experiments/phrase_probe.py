"""How often bundles fire on phrases said by held-out synthetic voices: each phrase N times, in the
test split's espeak-ng voices (seed 0) with training's prosody, room and microphone, at one level,
played as `kws bench realspeech` plays a recording (room-tone lead-in, a reset cascade, a
detection after the lead-in counts). Synthetic audio only (thirty-seventh session). Usage:
  phrase_probe.py "PHRASE,PHRASE,..." N BUNDLE [BUNDLE ...]
"""

import sys

import numpy as np

from kws.loading import load_cascade
from training.data import augment, clips
from training.data.dataset import split_voices
from training.realspeech import detects_after_lead_in, heard

PHRASES = sys.argv[1].split(",")
N = int(sys.argv[2])
bundles = {b: load_cascade(b) for b in sys.argv[3:]}
voices = list(split_voices(0)["test"])
for phrase in PHRASES:
    fired = {name: 0 for name in bundles}
    for i in range(N):
        rng = np.random.default_rng([7, i, len(phrase)])
        voice = voices[i % len(voices)]
        audio = clips.speak(phrase, voice, rng)
        audio = 0.1 * audio / max(1e-6, float(np.sqrt(np.mean(audio**2))))
        audio = np.concatenate([audio, np.zeros(8000, np.float32)])
        pcm = heard(augment.to_int16(audio), None, 0, i)
        for name, cascade in bundles.items():
            fired[name] += detects_after_lead_in(cascade, pcm)
    print(phrase, {k.split("/")[-1]: f"{v}/{N}" for k, v in fired.items()}, flush=True)
