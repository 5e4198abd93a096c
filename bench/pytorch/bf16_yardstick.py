#!/usr/bin/env python3
"""PyTorch's own bf16 autocast against a parity fixture, on a device of choice: the yardstick of
test/parity_bf16.test.ts. Prints one JSON object: the relative L2 errors of the eval and train
logits and of all gradients together, and the loss's relative error, against the float64
expectations in the file (the same four figures the test measures for senet).

    python3 bench/pytorch/bf16_yardstick.py FILE.safetensors [--device cuda]

The network is timm's when the fixture names one (metadata 'timm') and timm is importable, else
our own module from seresnext_bench.py (timm's layout and parameter names). On CUDA, autocast
runs cuDNN's bf16 convolutions as PyTorch users get them; test/fixtures/bf16-yardstick-cuda.json
holds what it printed on an H200. Never part of CI.
"""
import argparse
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seresnext_bench import SEResNeXt  # noqa: E402

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    """The format's layout: an 8-byte little-endian header length, a JSON header, raw data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[e["dtype"]]) if b > a else torch.empty(0, dtype=DTYPES[e["dtype"]])
        tensors[name] = t.reshape(e["shape"])
    return meta, tensors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    meta, t = read_safetensors(args.file)
    cfg = json.loads(meta["config"])
    dev = torch.device(args.device)
    if "timm" in meta:
        import timm

        model = timm.create_model(meta["timm"], num_classes=cfg["numClasses"], in_chans=cfg["inChannels"])
    else:
        model = SEResNeXt(cfg)
    model.load_state_dict({k[len("state."):]: v for k, v in t.items() if k.startswith("state.")})
    model = model.to(dev)
    x, labels = t["input"].to(dev), t["labels"].to(dev)

    def rel(a, b):
        b = b.double()
        return ((a.double().cpu() - b).norm() / b.norm()).item()

    # Two autocast regions: one region caches its bf16 weight casts, and casts made under no_grad
    # would carry no gradient into the training forward.
    model.eval()
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16):
        eval_logits = model(x).float()
    model.train()
    with torch.autocast(dev.type, dtype=torch.bfloat16):
        logits = model(x).float()
        loss = F.cross_entropy(logits, labels)
    loss.backward()
    num = den = 0.0
    for name, p in model.named_parameters():
        e = t["expect.grad." + name].double()
        num += ((p.grad.double().cpu() - e) ** 2).sum().item()
        den += (e ** 2).sum().item()
    want = t["expect.loss"].double().item()
    figures = {
        "evalLogits": rel(eval_logits, t["expect.logits.eval"]),
        "trainLogits": rel(logits.detach(), t["expect.logits.train"]),
        "loss": abs(loss.item() - want) / abs(want),
        "gradients": (num / den) ** 0.5,
    }
    print(json.dumps({"file": os.path.basename(args.file), "device": str(dev), "torch": torch.__version__, **figures}))


if __name__ == "__main__":
    main()
