"""openWakeWord 0.4.0's melspectrogram + Google's speech embedding (Apache-2.0, shipped in its
wheel) over probe audio; embedding j of a piece ends at sample 1280 j + 12480 of it. Usage:
  emb_feats.py data DATA.npz OUT.npz     clips of emb_data.py (train and val) and its stream
  emb_feats.py dev REALSPEECH_DIR OUT.npz   every recording of DIR clean and at 10 dB, as
      `kws bench realspeech` plays it (1 s of its room tone first) after one more second of
      that room tone, under the -60 dBFS noise floor
"""
import sys
import time
from pathlib import Path

import numpy as np
from openwakeword.utils import AudioFeatures

from kws.noise_floor import DEFAULT_DBFS, add_floor

FRAME, FIRST_END = 1280, 12480
_features = AudioFeatures(ncpu=1)


def embed(pcm):
    return _features._get_embeddings(pcm).astype(np.float16)


def embed_long(pcm):
    """A long stream a minute at a time with 38 frames of context: one embedding per 80 ms,
    embedding k ends at sample 1280 k + 12480 of the stream."""
    piece, context = 750 * FRAME, 38 * FRAME
    out = []
    for start in range(0, pcm.size, piece):
        begin = max(0, start - context)
        e = embed(pcm[begin : start + piece])
        skip = (start - begin) // FRAME
        out.append(e[skip : skip + piece // FRAME])
    return np.concatenate(out)


def main():
    t0 = time.time()
    mode = sys.argv[1]
    if mode == "data":
        d = np.load(sys.argv[2])
        res = {}
        for split in ("train", "val"):
            res[f"{split}_emb"] = np.stack([embed(p) for p in d[f"{split}_pcm"]])
            res[f"{split}_end"] = d[f"{split}_end"]
            print(split, res[f"{split}_emb"].shape, f"{time.time() - t0:.0f} s", flush=True)
        res["train_stream_emb"] = embed_long(d["train_stream"])
        np.savez(sys.argv[3], **res)
    elif mode == "dev":
        from training.realspeech import heard, phrase_folders, read_folders, room_tone_lead_in

        recs, _ = read_folders(phrase_folders(Path(sys.argv[2])))
        res = {}
        for phrase, clips in recs.items():
            for label, snr in (("clean", None), ("noisy", 10.0)):
                embs = []
                for i, pcm in enumerate(clips):
                    h = heard(pcm, snr, 0, i)  # 1 s room tone + recording (+ noise)
                    tone = np.round(room_tone_lead_in(pcm) * 32768).astype(np.int16)
                    if snr is not None:
                        tone = h[:16000]
                    embs.append(embed(add_floor(np.concatenate([tone, h]), DEFAULT_DBFS)))
                res[f"{phrase.replace(' ', '_')}_{label}"] = np.array(embs, dtype=object)
                print(phrase, label, len(embs), f"{time.time() - t0:.0f} s", flush=True)
        np.savez(sys.argv[3], **res)
    print("done", f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
