#!/usr/bin/env python3
"""PyTorch's side of `senet bench`: the same SE-ResNeXt, batch and SGD as senet's, measured the
same way (warm-up steps, then repeats of N steps, the median), printing one JSON object on the
last line of stdout. Progress goes to stderr.

The network is timm's when timm is importable and has the preset (timm.create_model), otherwise
our own module below, laid out like timm's ResNet with SE (the same parameter names and shapes):
  stem 'imagenet': conv 7x7/2 -> BN -> ReLU -> max-pool 3x3/2;  'cifar': conv 3x3/1 -> BN -> ReLU
  bottleneck: conv1 1x1 -> BN -> ReLU -> conv2 3x3 grouped (stride) -> BN -> ReLU -> conv3 1x1 -> BN
              -> SE (mean -> fc1 1x1 conv -> ReLU -> fc2 1x1 conv -> sigmoid -> scale)
              -> + shortcut (identity, or conv 1x1 stride -> BN) -> ReLU
  head: global average pool -> linear
Precision (--precision): fp32 (default) is plain float32, TF32 off on CUDA as senet; tf32 allows
TF32 for CUDA convolutions and matrix products (the CPU has none: there it runs as fp32); bf16 is
mixed precision as PyTorch users run it: model and input channels-last, forward and loss under
torch.autocast(bfloat16), backward and the SGD step outside it on float32 weights, no GradScaler.
Run by lib/bench/pytorch.ts; `python3 bench/pytorch/seresnext_bench.py --help` lists the flags.
Never part of CI.
"""
import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

FAMILIES = ("conv", "se", "pool", "linear", "loss", "sgd", "data", "other")


def log(msg):
    print(f"[pytorch] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# The network (ours, written for this benchmark; timm's layout and names)


def se_hidden(channels):
    """timm's make_divisible(channels / 16, 8) as senet computes it."""
    v = channels / 16
    return max(8, int((v + 4) // 8) * 8)


class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        hidden = se_hidden(channels)
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1, bias=True)
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1, bias=True)

    def forward(self, u):
        z = u.mean(dim=(2, 3), keepdim=True)
        gate = torch.sigmoid(self.fc2(F.relu(self.fc1(z))))
        return u * gate


class Block(nn.Module):
    """One SE-ResNeXt bottleneck, attribute names as timm's Bottleneck."""

    def __init__(self, cin, planes, stride, groups, base_width, zero_init_last):
        super().__init__()
        width = (planes * base_width // 64) * groups
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.act2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.se = SqueezeExcite(cout)
        self.act3 = nn.ReLU(inplace=True)
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.downsample = None
        if zero_init_last:
            nn.init.zeros_(self.bn3.weight)

    def forward(self, x):
        h = self.act1(self.bn1(self.conv1(x)))
        h = self.act2(self.bn2(self.conv2(h)))
        h = self.se(self.bn3(self.conv3(h)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.act3(h + shortcut)


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class SEResNeXt(nn.Module):
    def __init__(self, cfg, zero_init_last=True):
        super().__init__()
        imagenet = cfg["stem"] == "imagenet"
        k, s, p = (7, 2, 3) if imagenet else (3, 1, 1)
        self.conv1 = nn.Conv2d(cfg["inChannels"], cfg["stemWidth"], k, stride=s, padding=p, bias=False)
        self.bn1 = nn.BatchNorm2d(cfg["stemWidth"])
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if imagenet else nn.Identity()
        cin = cfg["stemWidth"]
        for stage, (count, planes) in enumerate(zip(cfg["layers"], cfg["channels"])):
            blocks = []
            for i in range(count):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(Block(cin, planes, stride, cfg["cardinality"], cfg["baseWidth"], zero_init_last))
                cin = planes * 4
            self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))
        self.global_pool = GlobalAvgPool()
        self.fc = nn.Linear(cin, cfg["numClasses"])
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        self.stages = len(cfg["layers"])

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for stage in range(self.stages):
            x = getattr(self, f"layer{stage + 1}")(x)
        return self.fc(self.global_pool(x))


def build_model(args, cfg):
    """timm's model when timm is importable, has the preset and the stem is the preset's own."""
    reason = None
    if args.no_timm:
        reason = "--no-timm"
    elif cfg["stem"] != "imagenet":
        reason = "timm has no 'cifar' stem"
    else:
        try:
            import timm  # noqa: F401

            if args.model in timm.list_models(args.model):
                m = timm.create_model(args.model, pretrained=False, num_classes=cfg["numClasses"], in_chans=cfg["inChannels"])
                return m, {"network": "timm", "timm": timm.__version__}
            reason = f"timm {timm.__version__} has no {args.model}"
        except ImportError:
            reason = "timm is not installed"
    return SEResNeXt(cfg), {"network": "senet-bench (bench/pytorch/seresnext_bench.py)", "timmSkipped": reason}


# ------------------------------------------------------------------------------------------------
# Precision

PRECISIONS = ("fp32", "tf32", "bf16")


def precision_plan(requested, device):
    """What a run in `requested` precision does on `device`: the precision it really runs in, the
    autocast dtype (None: no autocast), TF32 on CUDA (None on the CPU), whether it forces
    channels-last, and a note where the run differs from what was asked. Exits with a message when
    this torch or GPU cannot run it."""
    cuda = device.type == "cuda"
    plan = {"requested": requested, "precision": requested, "autocastDtype": None,
            "tf32": None, "channelsLast": False, "note": None}
    if requested == "tf32":
        if cuda:
            plan["tf32"] = True
        else:
            plan["precision"] = "fp32"
            plan["note"] = "tf32 on the CPU: there is no TF32 there, so this is the same as fp32"
    elif requested == "bf16":
        if not hasattr(torch, "autocast"):
            sys.exit(f"--precision bf16 needs torch.autocast (torch >= 1.10); this is torch {torch.__version__}")
        if cuda:
            supported = getattr(torch.cuda, "is_bf16_supported", None)
            if supported is not None:
                try:
                    ok = supported(including_emulation=False)  # torch >= 2.4: no emulated bf16
                except TypeError:
                    ok = supported()
                if not ok:
                    sys.exit(f"--precision bf16: {torch.cuda.get_device_name(0)} has no native bfloat16")
            # What autocast leaves in float32 stays plain float32, as with fp32.
            plan["tf32"] = False
        plan["autocastDtype"] = torch.bfloat16
        plan["channelsLast"] = True
    elif cuda:
        plan["tf32"] = False
    return plan


def apply_precision(plan, device):
    """Sets the backend flags the plan needs (TF32 on CUDA, explicitly on or off)."""
    if device.type == "cuda":
        # The flags that torch 1.7 to 2.9+ all take (2.9 suggests fp32_precision instead and may
        # warn once; these still set the same state).
        torch.backends.cuda.matmul.allow_tf32 = plan["tf32"]
        torch.backends.cudnn.allow_tf32 = plan["tf32"]


def autocast_for(plan, device):
    """A function that returns a fresh context for one forward (and loss): torch.autocast with the
    plan's dtype, or a context that does nothing."""
    dtype = plan["autocastDtype"]
    if dtype is None:
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


def dtype_name(dtype):
    return str(dtype).replace("torch.", "")


class DtypeProbe:
    """Records the dtype of the first convolution's output during the next forward, then unhooks,
    and the dtypes of the logits and the loss; check() fails the run when what ran is not what the
    plan asked for (under bf16 autocast convolutions and the classifier produce bfloat16, without
    it float32)."""

    def __init__(self, model):
        self.dtypes = {}
        conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        self.handle = conv.register_forward_hook(self.hook) if conv is not None else None

    def hook(self, _m, _inp, out):
        self.dtypes.setdefault("conv", dtype_name(out.dtype))

    def record(self, key, tensor):
        if key not in self.dtypes:
            self.dtypes[key] = dtype_name(tensor.dtype)

    def unhook(self):
        if self.handle is not None:
            self.handle.remove()
            self.handle = None

    def check(self, plan, key):
        want = dtype_name(plan["autocastDtype"] or torch.float32)
        got = self.dtypes.get(key)
        if got is not None and got != want:
            raise RuntimeError(f"precision {plan['precision']}: {key} came out in {got}, not {want}")


# ------------------------------------------------------------------------------------------------
# Measurement


def gpu_process_bytes():
    """This process's GPU memory as nvidia-smi reports it (context included), or None."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0] == str(os.getpid()):
            try:
                return int(parts[1]) * 2**20
            except ValueError:
                return None
    return None


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def rss_bytes():
    """The current resident set size (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Scopes:
    """While the profiler runs, names each module's work by op family (innermost scope wins):
    conv / BN / ReLU inside blocks and the stem -> conv; SE modules and the rest of a block (the
    residual add and the last ReLU, which senet fuses into its SE op) -> se; pools -> pool;
    the classifier -> linear; anything else in the model -> other."""

    def __init__(self, model):
        self.handles = []
        self.stack = []
        for name, m in model.named_modules():
            fam = self.family(name, m)
            if fam:
                self.handles.append(m.register_forward_pre_hook(self.enter(fam)))
                self.handles.append(m.register_forward_hook(self.leave))

    @staticmethod
    def family(name, m):
        leaf = name.rsplit(".", 1)[-1]
        if name == "":
            return "other"
        if leaf == "se" or ".se." in name:
            return "se" if leaf == "se" else None
        if leaf == "act3":
            return None  # the block's scope (se) covers it, as in senet's fused op
        if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, GlobalAvgPool)) or leaf == "global_pool":
            return "pool"
        if isinstance(m, nn.Linear):
            return "linear"
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.ReLU)) or leaf in ("bn1", "bn2", "bn3", "act1", "act2", "conv1", "conv2", "conv3"):
            return "conv"
        if leaf == "downsample":
            return "conv"
        # A bottleneck block: what no inner scope claims is the residual add and the final ReLU.
        if hasattr(m, "conv3") and hasattr(m, "se"):
            return "se"
        return None

    def enter(self, fam):
        def hook(_m, _inp):
            self.stack.append(torch.ops.profiler._record_function_enter_new(f"family::{fam}", None))
        return hook

    def leave(self, _m, _inp, _out):
        torch.ops.profiler._record_function_exit(self.stack.pop())

    def remove(self):
        for h in self.handles:
            h.remove()


BACKWARD_BY_NAME = {
    "ConvolutionBackward": "conv", "NativeBatchNormBackward": "conv", "CudnnBatchNormBackward": "conv",
    "ReluBackward": "conv", "ThresholdBackward": "conv", "MaxPool2DWithIndicesBackward": "pool",
    "AddmmBackward": "linear", "LogSoftmaxBackward": "loss", "NllLossBackward": "loss",
    "SigmoidBackward": "se", "MulBackward": "se", "AddBackward": "se", "MeanBackward": "pool",
}


def event_time_us(e, cuda):
    if cuda:
        for attr in ("device_time_total", "cuda_time_total"):
            v = getattr(e, attr, None)
            if v is not None:
                return float(v)
    return float(e.cpu_time_total)


def scope_of(e):
    p = getattr(e, "cpu_parent", None)
    while p is not None:
        if p.name.startswith("family::"):
            return p.name[len("family::"):]
        p = getattr(p, "cpu_parent", None)
    return None


def breakdown_from(events, cuda, steps):
    """ms per family per step from the profiler's events."""
    fam_us = dict.fromkeys(FAMILIES, 0.0)
    by_seq = {}
    # Forward: each scope's own time (its total less the scopes directly inside it).
    for e in events:
        if e.name.startswith("family::"):
            own = event_time_us(e, cuda)
            stack = list(e.cpu_children)
            while stack:
                c = stack.pop()
                if c.name.startswith("family::"):
                    own -= event_time_us(c, cuda)
                else:
                    stack.extend(c.cpu_children)
            fam_us[e.name[len("family::"):]] += own
        elif not e.name.startswith("autograd::") and getattr(e, "sequence_nr", -1) >= 0:
            fam = scope_of(e)
            if fam is not None and e.sequence_nr not in by_seq:
                by_seq[e.sequence_nr] = fam
    # Backward: each autograd node, to the family of the forward op that made it.
    for e in events:
        if not e.name.startswith("autograd::engine::evaluate_function: "):
            continue
        node = e.name.split(": ", 1)[1]
        if "AccumulateGrad" in node:
            fam = "other"
        else:
            fam = by_seq.get(getattr(e, "sequence_nr", -1))
            if fam is None:
                fam = next((f for k, f in BACKWARD_BY_NAME.items() if node.startswith(k)), "other")
        fam_us[fam] += event_time_us(e, cuda)
    return {f: fam_us[f] / 1000 / steps for f in FAMILIES}


def measure(args, cfg, device, memory_format, plan):
    torch.manual_seed(args.seed)
    baseline_rss = rss_bytes()
    model, net = build_model(args, cfg)
    params = sum(p.numel() for p in model.parameters())
    model = model.to(device=device, memory_format=memory_format)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    shape = (args.batch_size, cfg["inChannels"], args.size, args.size)
    host_x = torch.randn(shape)
    host_y = torch.randint(0, cfg["numClasses"], (args.batch_size,))
    if device.type == "cuda":
        host_x, host_y = host_x.pin_memory(), host_y.pin_memory()
    x = torch.empty(shape, device=device).contiguous(memory_format=memory_format)
    y = torch.empty((args.batch_size,), dtype=torch.int64, device=device)
    cuda = device.type == "cuda"
    autocast = autocast_for(plan, device)
    probe = DtypeProbe(model)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def train_step(named=None):
        ctx = named or (lambda _n: contextlib.nullcontext())
        with ctx("data"):
            x.copy_(host_x, non_blocking=True)
            y.copy_(host_y, non_blocking=True)
        with ctx("sgd"):
            opt.zero_grad(set_to_none=True)
        # Forward and loss under autocast (bf16), backward and the step outside it.
        with autocast():
            out = model(x)
            with ctx("loss"):
                loss = F.cross_entropy(out, y)
        if probe.handle is not None:  # the first step: what the forward really ran in
            probe.unhook()
            probe.record("logits", out)
            probe.record("loss", loss)
            probe.check(plan, "conv")
            probe.check(plan, "logits")
        loss.backward()
        with ctx("sgd"):
            opt.step()
        # Not loss.item(): as senet's step (and a training loop that logs every N steps), nothing
        # waits for the GPU inside a step.
        return loss.detach()

    def infer_step():
        x.copy_(host_x, non_blocking=True)
        with autocast():
            out = model(x)
        probe.record("inferLogits", out)
        return out.cpu()

    def timed_repeats(step, label):
        per_step = []
        for r in range(args.repeats):
            sync()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            sync()
            ms = (time.perf_counter() - t0) * 1000 / args.steps
            per_step.append(ms)
            log(f"{label} repeat {r + 1}/{args.repeats}: {ms:.1f} ms/step, {args.batch_size * 1000 / ms:.1f} img/s")
        return per_step

    gpu_peak = None

    def sample_gpu():
        nonlocal gpu_peak
        if cuda:
            b = gpu_process_bytes()
            if b is not None:
                gpu_peak = max(gpu_peak or 0, b)

    fmt = "channels_last" if memory_format == torch.channels_last else "nchw"
    model.train()
    ac = f"autocast {dtype_name(plan['autocastDtype'])}" if plan["autocastDtype"] is not None else "no autocast"
    log(f"{net['network']}, {params:,} parameters, {fmt}, {plan['precision']} ({ac}), {args.warmup} warm-up step(s)")
    for _ in range(args.warmup):
        loss = train_step()
    sync()
    sample_gpu()
    train_ms = timed_repeats(train_step, f"train ({fmt})")
    sample_gpu()

    breakdown = None
    if args.breakdown:
        from torch.profiler import ProfilerActivity, profile
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        scopes = Scopes(model)
        named = lambda n: torch.autograd.profiler.record_function(f"family::{n}")  # noqa: E731
        try:
            with profile(activities=acts) as prof:
                sync()
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    train_step(named)
                sync()
                step_ms = (time.perf_counter() - t0) * 1000 / args.steps
        finally:
            scopes.remove()
        fams = breakdown_from(prof.events(), cuda, args.steps)
        breakdown = {
            "families": fams,
            "stepMs": step_ms,
            "unaccountedMs": step_ms - sum(fams.values()),
            "method": "torch.profiler over %d extra steps (%s time); forward by module scopes, backward by autograd node" % (args.steps, "GPU" if cuda else "CPU"),
        }
        log("breakdown: " + ", ".join(f"{f} {v:.1f}" for f, v in fams.items()) + f" ms/step (profiled step {step_ms:.1f} ms)")

    model.eval()
    with torch.inference_mode():
        for _ in range(args.warmup):
            infer_step()
        infer_ms = timed_repeats(infer_step, f"infer ({fmt})")
    sample_gpu()
    model.train()
    probe.check(plan, "inferLogits")
    log("dtypes: " + ", ".join(f"{k} {v}" for k, v in probe.dtypes.items()))

    med_train = statistics.median(train_ms)
    med_infer = statistics.median(infer_ms)
    result = {
        "memoryFormat": fmt,
        "precision": plan["precision"],
        "autocast": plan["autocastDtype"] is not None,
        "autocastDtype": dtype_name(plan["autocastDtype"]) if plan["autocastDtype"] is not None else None,
        "channelsLast": memory_format == torch.channels_last,
        "observedDtypes": dict(probe.dtypes),
        "trainImagesPerSecond": args.batch_size * 1000 / med_train,
        "inferImagesPerSecond": args.batch_size * 1000 / med_infer,
        "trainStepMs": train_ms,
        "inferStepMs": infer_ms,
        "peakRssBytes": peak_rss_bytes(),
        "baselineRssBytes": baseline_rss,
        "peakGpuBytes": gpu_peak,
        "parameters": params,
        "lastLoss": loss.item() if args.warmup else None,
        "breakdown": breakdown,
        **net,
    }
    if cuda:
        result["maxMemoryAllocatedBytes"] = torch.cuda.max_memory_allocated()
        result["maxMemoryReservedBytes"] = torch.cuda.max_memory_reserved()
    del model, opt
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="the network as JSON: layers, channels, cardinality, baseWidth, stemWidth, stem, inChannels, numClasses")
    ap.add_argument("--model", default="custom", help="preset name (timm's, when timm has it)")
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--memory-format", default="nchw", choices=["nchw", "channels_last", "both"])
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", choices=PRECISIONS, default=None,
                    help="fp32 (default: plain float32 as senet), tf32 (TF32 on CUDA; on the CPU as fp32), "
                         "bf16 (autocast bfloat16, channels-last whatever --memory-format says)")
    ap.add_argument("--tf32", action="store_true", help="the same as --precision tf32 (kept for older callers)")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--no-timm", action="store_true", help="use our own network even when timm is there")
    args = ap.parse_args()
    if args.tf32 and args.precision not in (None, "tf32"):
        ap.error(f"--tf32 contradicts --precision {args.precision}")
    requested = args.precision or ("tf32" if args.tf32 else "fp32")
    cfg = json.loads(args.config)

    default_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    plan = precision_plan(requested, device)
    apply_precision(plan, device)
    log(f"torch {torch.__version__}, {args.device}, threads {torch.get_num_threads()} (torch's default here: {default_threads}), "
        f"precision {plan['precision']}" + (f", TF32 {'on' if plan['tf32'] else 'off'}" if plan["tf32"] is not None else ""))
    if plan["note"]:
        log(plan["note"])

    formats = {"nchw": [torch.contiguous_format], "channels_last": [torch.channels_last],
               "both": [torch.contiguous_format, torch.channels_last]}[args.memory_format]
    if plan["channelsLast"] and args.memory_format != "channels_last":
        formats = [torch.channels_last]
        note = f"bf16 runs channels-last (--memory-format {args.memory_format} not followed)"
        plan["note"] = f"{plan['note']}; {note}" if plan["note"] else note
        log(note)
    runs = [measure(args, cfg, device, f, plan) for f in formats]
    for later in runs[1:]:
        later["rssIncludesEarlierRuns"] = True  # one process: ru_maxrss is its peak so far

    versions = {"torch": torch.__version__, "python": platform.python_version(),
                "mkldnn": torch.backends.mkldnn.is_available()}
    if device.type == "cuda":
        versions["cuda"] = torch.version.cuda
        versions["cudnn"] = torch.backends.cudnn.version()
        dev = torch.cuda.get_device_name(0)
    else:
        dev = cpu_name()
    out = dict(runs[0])
    out.update({
        "versions": versions,
        "device": args.device,
        "deviceName": dev,
        "threads": torch.get_num_threads(),
        "defaultThreads": default_threads,
        "tf32": plan["tf32"],
        "dtype": "float32",
        "precisionRequested": plan["requested"],
        "precisionNote": plan["note"],
        "optimizer": {"kind": "SGD", "lr": args.lr, "momentum": args.momentum, "weightDecay": args.weight_decay},
        "runs": runs,
    })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
