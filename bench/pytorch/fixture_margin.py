#!/usr/bin/env python3
"""How far a parity fixture's training steps stay from the kinks of ReLU and max pooling, in
float64. A gradient jumps where a ReLU's input crosses 0 or a max-pool window's two largest values
swap; if the float64 run passes within float32's rounding of such a point, a correct float32
implementation may land on the other side and miss the fixture's gradients or its state after two
steps by far more than the test allows (parity-tiny-cifar-stem as first made, seed 2, lr 0.1: at
step 2 one input of the last block's ReLU was -8.8e-7, the difference of 0.01424 and 0.01424).

    /usr/bin/python3 bench/pytorch/fixture_margin.py FILE.safetensors [--lr LR]

Replays the fixture's two SGD steps (its own lr unless --lr) in float64 with the network of
seresnext_bench.py and prints one JSON object: for each training step the smallest margin found,
|v| / rms(v) for ReLU inputs v and (largest - second largest) / rms for pooling windows, and where.
float32 differs from float64 by about 1e-6 of a tensor's scale after two steps, so a margin below
1e-4 is a fixture to remake (another seed or lr). Never part of CI.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bf16_yardstick import read_safetensors  # noqa: E402
from seresnext_bench import SEResNeXt  # noqa: E402


class Margins:
    """Wraps F.relu and F.max_pool2d while active and keeps the smallest margin seen."""

    def __init__(self):
        self.worst = float("inf")
        self.where = ""
        self.calls = 0
        self._relu, self._pool = F.relu, F.max_pool2d

    def _note(self, margin, what):
        if margin < self.worst:
            self.worst, self.where = margin, f"{what} #{self.calls}"

    def relu(self, x, inplace=False):
        self.calls += 1
        rms = x.detach().pow(2).mean().sqrt().item()
        if rms > 0:
            self._note(x.detach().abs().min().item() / rms, f"relu {tuple(x.shape)}")
        return self._relu(x, inplace=inplace)

    def max_pool2d(self, x, kernel_size, stride=None, padding=0, *args, **kwargs):
        self.calls += 1
        d = x.detach()
        k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
        s = stride if isinstance(stride, int) else (stride or [k])[0]
        p = padding if isinstance(padding, int) else padding[0]
        padded = F.pad(d, (p, p, p, p), value=float("-inf"))
        windows = padded.unfold(2, k, s).unfold(3, k, s).flatten(-2)  # (N, C, Ho, Wo, k*k)
        top = windows.topk(2, dim=-1).values
        rms = d.pow(2).mean().sqrt().item()
        # A window of zeros (all cut by the ReLU before) ties, but its gradient is masked either way.
        gaps = (top[..., 0] - top[..., 1])[top[..., 0] > 0]
        if rms > 0 and gaps.numel() > 0:
            self._note(gaps.min().item() / rms, f"max pool {tuple(x.shape)}")
        return self._pool(x, kernel_size, stride, padding, *args, **kwargs)

    def __enter__(self):
        F.relu, F.max_pool2d = self.relu, self.max_pool2d
        return self

    def __exit__(self, *exc):
        F.relu, F.max_pool2d = self._relu, self._pool


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--lr", type=float, default=None)
    args = ap.parse_args()
    meta, t = read_safetensors(args.file)
    cfg = json.loads(meta["config"])
    sgd = json.loads(meta["sgd"])
    lr = sgd["lr"] if args.lr is None else args.lr
    model = SEResNeXt(cfg).double()
    model.load_state_dict({k[len("state."):]: v.double() if v.is_floating_point() else v for k, v in t.items() if k.startswith("state.")})
    x, labels = t["input"].double(), t["labels"]
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=sgd["momentum"], weight_decay=sgd["weightDecay"], nesterov=sgd["nesterov"])
    model.train()
    steps = []
    for step in (1, 2):
        opt.zero_grad(set_to_none=True)
        with Margins() as m:
            loss = F.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        steps.append({"step": step, "margin": m.worst, "where": m.where})
    print(json.dumps({"file": os.path.basename(args.file), "lr": lr, "steps": steps, "worst": min(s["margin"] for s in steps)}))


if __name__ == "__main__":
    main()
