"""Probe data: kws's own synthetic clips (seed 0 voice split) as audio with their 1 s lead-in,
for a head on openWakeWord 0.4.0's speech embedding (Apache-2.0). Usage:
emb_data.py KEYWORD OUT.npz N_POS N_NEG TRAIN_STREAM_MIN"""
import sys, time
from concurrent.futures import ProcessPoolExecutor
import numpy as np

from kws.noise_floor import DEFAULT_DBFS, add_floor
from training.data import augment
from training.data import clips as C
from training.data.dataset import split_voices, phrase_lists

keyword, out = sys.argv[1], sys.argv[2]
n_pos, n_neg, stream_min = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
voices = split_voices(0)
pron, conf, _ = phrase_lists(keyword, 0)
plans = {s: C.SpeechPlan(keyword, tuple(voices[s]), pron, conf, 0, (), DEFAULT_DBFS)
         for s in ("train", "val")}


def clip(job):
    """make_clip's audio, lead-in kept, and the keyword's end sample in it (-1: none)."""
    plan = job.plan
    rng = C._rng(plan, job.split, int(job.kind == "pos"), job.index)
    voice = C.pick_voice(plan, rng)
    n_clip, n_lead = int(C.CLIP_S * 16000), int(C.LEAD_IN_S * 16000)
    end = -1
    if job.kind == "pos":
        audio, end, _ = C.keyword_clip(plan, voice, rng, n_lead, n_clip)
    else:
        audio = np.concatenate([np.zeros(n_lead, np.float32), C._negative(plan, voice, rng, n_clip)])
    speech_rms = augment.rms(audio[n_lead:])
    if speech_rms > 1e-4:
        audio = augment.apply_gain_db(audio, float(rng.uniform(-32.0, -8.0)) - C._db(speech_rms))
    noise = C.background(plan, rng, n_lead + n_clip)
    snr_db = float(rng.uniform(0.0, 30.0))
    clip_rms = augment.rms(audio[n_lead:])
    ref = clip_rms if clip_rms > 1e-4 else 0.01
    mix = noise * (ref / (augment.rms(noise) * 10 ** (snr_db / 20.0))) + audio
    pcm = add_floor(augment.to_int16(mix), plan.noise_floor_dbfs)
    return pcm, (n_lead + end if end >= 0 else -1)


def stream(job):
    return C.make_stream_chunk(job)


t0 = time.time()
result = {}
with ProcessPoolExecutor(2) as pool:
    for split, (np_, nn) in (("train", (n_pos, n_neg)), ("val", (n_pos // 5, n_neg // 5))):
        jobs = [C.ClipJob(plans[split], split, k, i, True)
                for k, n in (("pos", np_), ("neg", nn)) for i in range(n)]
        recs = list(pool.map(clip, jobs, chunksize=8))
        result[f"{split}_pcm"] = np.stack([r[0] for r in recs])
        result[f"{split}_end"] = np.array([r[1] for r in recs])
        print(split, len(recs), f"{time.time()-t0:.0f} s", flush=True)
    n_chunks = int(np.ceil(stream_min * 60 / 20))
    chunks = list(pool.map(stream, [C.StreamJob(plans["train"], "train", i, 20.0)
                                    for i in range(n_chunks)]))
    result["train_stream"] = add_floor(np.concatenate(chunks), DEFAULT_DBFS)
print("stream", f"{time.time()-t0:.0f} s", flush=True)
np.savez(out, **result)
