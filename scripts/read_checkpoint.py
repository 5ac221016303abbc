#!/usr/bin/env python3
"""Reads a Tessera checkpoint (format tessera-checkpoint, version 2) with nothing but numpy.

    python3 scripts/read_checkpoint.py runs/bert/checkpoints/step-00000200            # summary
    python3 scripts/read_checkpoint.py CHECKPOINT --compare-model runs/bert/model     # params == exported model?

In Python:  manifest, state = load("runs/bert/checkpoints/step-00000200")
            state["param/bert.embeddings.word_embeddings.weight"], state["exp_avg/..."], state["exp_avg_sq/..."]
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """safetensors: 8-byte little-endian header length, JSON header, then the raw little-endian data."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    out = {}
    for name, h in header.items():
        start, end = h["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype=DTYPES[h["dtype"]]).reshape(h["shape"])
    return out


def load(checkpoint):
    manifest = json.load(open(f"{checkpoint}/checkpoint.json"))
    if manifest.get("format") != "tessera-checkpoint" or manifest.get("version") != 2:
        raise SystemExit(f"{checkpoint}: not a tessera-checkpoint version 2")
    state = read_safetensors(f"{checkpoint}/state.safetensors")
    for name, entry in manifest["tensors"].items():
        if list(state[name].shape) != entry["shape"]:
            raise SystemExit(f"{name}: shape {state[name].shape} but the manifest says {entry['shape']}")
    return manifest, state


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--compare-model"):
        raise SystemExit(__doc__)
    manifest, state = load(argv[1])
    params = [k for k in state if k.startswith("param/")]
    print(f"step {manifest['step']}  samples {manifest['samples_seen']}  optimizer {manifest['optimizer']}"
          f" (t = {manifest['optimizer_steps']})  saved at {manifest['saved_layout']}")
    print(f"{len(params)} parameters, {sum(state[k].size for k in params)} elements; {len(state)} tensors with the moments")
    if len(argv) == 4:
        model = read_safetensors(f"{argv[3]}/model.safetensors")
        differ = [k for k in model if not np.array_equal(state["param/" + k], model[k])]
        print("parameters equal the model's" if not differ else f"parameters differ from the model's: {differ}")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
