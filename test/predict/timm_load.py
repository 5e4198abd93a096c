"""Loads a senet weights file into timm's own model, strictly, and prints its eval logits on an
input, as JSON: what `senet export --format safetensors` promises (timm's load_state_dict accepts
it). Reads the file with the standard library (no safetensors package on Debian).
Usage: timm_load.py WEIGHTS INPUT_F32 N C H W MODEL CLASSES"""
import json, struct, sys

import timm
import torch

DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read(path):
    with open(path, "rb") as f:
        b = f.read()
    (n,) = struct.unpack("<Q", b[:8])
    header = json.loads(b[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        raw = bytearray(b[8 + n + lo:8 + n + hi])
        out[name] = torch.frombuffer(raw, dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).clone()
    return out


def main():
    weights, inp, n, c, h, w, name, classes = sys.argv[1:9]
    model = timm.create_model(name, pretrained=False, num_classes=int(classes), in_chans=int(c))
    model.load_state_dict(read(weights), strict=True)
    model.eval()
    with open(inp, "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(int(n), int(c), int(h), int(w))
    with torch.no_grad():
        logits = model(x)
    print(json.dumps({"logits": logits.flatten().tolist()}))


main()
