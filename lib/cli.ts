#!/usr/bin/env node
/**
 * The `senet` command: train, eval, info, bench.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setNumThreads, type LibraryReport } from './backends';
import { DEFAULT_BENCH, formatBench, runBench } from './bench';
import { DATASET_NAMES } from './data';
import { loadModel } from './predict/load';
import type { RunDataset } from './train/run_data';
import { SenetError } from './errors';
import { backends, buildInfo } from './index';
import { PRESETS, type ModelName, type SEResNeXt } from './nn';
import { DEFAULT_RUN, runEvaluation, runTraining, type RunOptions, type RunSummary } from './train/run';
import { AbortError } from './train/trainer';
import { checkInt, checkNumber, checkOneOf } from './validate';

const MODELS = Object.keys(PRESETS) as ModelName[];
const RUN_DATASETS: readonly RunDataset[] = [...DATASET_NAMES, 'folder'];

const HELP = `Usage: senet <command> [options]

Commands:
  train       train SE-ResNeXt (with no options: seresnext26_8x8d on Fashion-MNIST, about two minutes on a CPU)
  eval        test loss and accuracy of a checkpoint
  predict     the top classes of image files (PNG, JPEG, WebP) from a checkpoint
  export      a checkpoint's weights as timm-named safetensors, or as ONNX
  info        version, backends found, and why one is missing
  bench       training and inference images per second and peak memory, side by side with PyTorch
  help        this help; senet <command> --help for a command's options

Options:
  --version   print the version
`;

const TRAIN_HELP = `Usage: senet train [options]

  --dataset NAME      fashion-mnist | mnist | cifar10 | folder (default ${DEFAULT_RUN.dataset})
  --data DIR          the dataset's files (default: /usr/share/datasets/fashion-mnist for Fashion-MNIST;
                      required for CIFAR-10: the folder of data_batch_*.bin; for folder: DIR/<class>/*.png|jpg|jpeg|webp,
                      or DIR/train, DIR/val, DIR/test each so)
  --size N            folder: the side images are resized (to cover) and center-cropped to (default 64)
  --channels N        folder: 1 (gray) or 3 (RGB) (default 3)
  --model NAME        ${MODELS.join(' | ')} (default ${DEFAULT_RUN.model})
  --stem KIND         imagenet (7x7/2 conv + max-pool) | cifar (3x3/1 conv) (default: the model's)
  --epochs N          (default ${DEFAULT_RUN.epochs})
  --batch-size N      (default ${DEFAULT_RUN.batchSize})
  --lr X              peak learning rate (default ${DEFAULT_RUN.lr})
  --momentum X        SGD momentum (default ${DEFAULT_RUN.momentum})
  --weight-decay X    (default ${DEFAULT_RUN.weightDecay})
  --label-smoothing X (default ${DEFAULT_RUN.labelSmoothing})
  --schedule KIND     constant | step (x0.1 every 30 epochs, the paper's) | multistep | cosine (default ${DEFAULT_RUN.schedule})
  --warmup X          warmup epochs of the cosine schedule (default ${DEFAULT_RUN.warmupEpochs})
  --device KIND       auto | cpu | cuda (default ${DEFAULT_RUN.device}: CUDA when fully available)
  --out DIR           run folder: metrics.jsonl, curves.svg, checkpoint.safetensors (default ${DEFAULT_RUN.out})
  --resume PATH       continue from a checkpoint, with its settings
  --limit N           use only the first N training images (default: all)
  --val N             training images held out for validation (default ${DEFAULT_RUN.valCount})
  --augment           random crops (and flips where they fit the data) while training; for long runs
  --no-augment        none (the default: the demo's few epochs learn faster without)
  --seed N            (default ${DEFAULT_RUN.seed})
  --workers N         data worker threads (default 1, 2 with more than 4 cores)
  --threads N         threads the CPU backend computes with (default: every core)
  --checkpoint-every N  also checkpoint every N steps (default: at each epoch's end only)
  --progress KIND     auto | bar | lines | none (default auto: a bar on a terminal)
  --json              print one JSON object as the last line

Ctrl-C (SIGINT) or SIGTERM finishes the step, writes a checkpoint and exits with 130, printing
the --resume command that continues exactly; a second signal exits at once.
`;

const EVAL_HELP = `Usage: senet eval --checkpoint PATH [options]

  --checkpoint PATH   a checkpoint written by senet train (required)
  --dataset NAME      default: the checkpoint's
  --data DIR          the dataset's files
  --batch-size N      (default 256)
  --device KIND       auto | cpu | cuda (default auto)
  --threads N         threads the CPU backend computes with (default: every core)
  --json              print one JSON object as the last line
`;

const BENCH_HELP = `Usage: senet bench [options]

Times training steps (upload, forward, loss, backward, SGD step) and inference steps on random
data, as the median of repeats after warm-up steps, and reports peak memory. When a Python with
torch is found ($SENET_PYTHON, python3, /usr/bin/python3), bench/pytorch/seresnext_bench.py runs
the same network, batch and SGD in PyTorch with as many threads as senet's, and the ratios
senet / PyTorch are printed.

  --model NAME        ${MODELS.join(' | ')} (default ${DEFAULT_BENCH.model})
  --batch-size N      (default ${DEFAULT_BENCH.batchSize})
  --size N            image height and width (default ${DEFAULT_BENCH.size})
  --channels N        image channels (default ${DEFAULT_BENCH.channels})
  --classes N         (default ${DEFAULT_BENCH.classes})
  --stem KIND         imagenet | cifar (default: the model's)
  --device KIND       auto | cpu | cuda (default ${DEFAULT_BENCH.device}: CUDA when fully available)
  --threads N         threads the CPU backend computes with (default: every core)
  --steps N           steps per timed repeat (default ${DEFAULT_BENCH.steps})
  --warmup N          untimed steps first (default ${DEFAULT_BENCH.warmup})
  --repeats N         timed repeats; each figure is their median (default ${DEFAULT_BENCH.repeats})
  --breakdown         also time each op family (conv + BN + ReLU, SE, pooling, linear, loss, SGD, data, other)
  --no-pytorch        do not run PyTorch
  --pytorch-format F  PyTorch's memory format: nchw (its default) | channels_last | both (default ${DEFAULT_BENCH.pytorchFormat})
  --json              print one JSON object as the last line
`;

const INFO_HELP = `Usage: senet info [--json]

Prints the version, the CPU backend (oneDNN), and the CUDA backend: its devices and libraries,
or exactly why it is unavailable.
`;

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

type Flags = Record<string, string | boolean | undefined>;

function parse(argv: string[], options: ParseArgsConfig['options']): { values: Flags } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' }, json: { type: 'boolean' } }, strict: true, allowPositionals: false });
    return { values: r.values as Flags };
  } catch (err) {
    throw new SenetError('SENET_ARGUMENT', (err as Error).message);
  }
}

const num = (where: string, name: string, v: string | undefined, min?: number, max?: number) =>
  v === undefined ? undefined : checkNumber(where, name, Number(v), min, max);
const int = (where: string, name: string, v: string | undefined, min?: number) =>
  v === undefined ? undefined : checkInt(where, name, Number(v), min);

function applyThreads(where: string, v: string | undefined): void {
  const n = int(where, '--threads', v, 1);
  if (n !== undefined) setNumThreads(n);
}

// What a terminal needs back if the process leaves in the middle of a progress bar.
function restoreTerminal(): void {
  if (process.stderr.isTTY) process.stderr.write('\x1b[?25h');
}

/**
 * Runs a training with SIGINT and SIGTERM handled as Ctrl-C should be: the first finishes the
 * step, checkpoints and stops (AbortError); a second exits at once.
 */
async function trainWithSignals(options: Partial<RunOptions>): Promise<RunSummary> {
  const controller = new AbortController();
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received += 1;
    if (received > 1) {
      restoreTerminal();
      process.stderr.write(`\nsenet: ${signal} again: exiting now, without a checkpoint of this step\n`);
      process.exit(130);
    }
    process.stderr.write(`\nsenet: ${signal}: finishing the step and writing a checkpoint (send it again to exit at once)\n`);
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runTraining({ ...options, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function train(argv: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  const { values: v } = parse(argv, {
    dataset: s, data: s, model: s, stem: s, epochs: s, 'batch-size': s, lr: s, momentum: s, 'weight-decay': s,
    'label-smoothing': s, schedule: s, warmup: s, device: s, out: s, resume: s, limit: s, val: s, seed: s, workers: s, progress: s,
    threads: s, 'checkpoint-every': s, size: s, channels: s,
    augment: { type: 'boolean' },
    'no-augment': { type: 'boolean' },
  });
  if (v.help) return out(TRAIN_HELP);
  const w = 'senet train';
  const str = (k: string) => v[k] as string | undefined;
  const opt = <T extends string>(k: string, choices: readonly T[]) => (str(k) === undefined ? undefined : checkOneOf(w, `--${k}`, str(k), choices));
  const limit = int(w, '--limit', str('limit'), 0);
  const options: Partial<RunOptions> = {
    dataset: opt('dataset', RUN_DATASETS),
    size: int(w, '--size', str('size'), 1),
    channels: str('channels') === undefined ? undefined : Number(checkOneOf(w, '--channels', str('channels'), ['1', '3'] as const)),
    data: str('data'),
    model: opt('model', MODELS),
    stem: opt('stem', ['imagenet', 'cifar'] as const),
    epochs: int(w, '--epochs', str('epochs'), 1),
    batchSize: int(w, '--batch-size', str('batch-size'), 1),
    lr: num(w, '--lr', str('lr'), 0),
    momentum: num(w, '--momentum', str('momentum'), 0),
    weightDecay: num(w, '--weight-decay', str('weight-decay'), 0),
    labelSmoothing: num(w, '--label-smoothing', str('label-smoothing'), 0, 1),
    schedule: opt('schedule', ['constant', 'step', 'multistep', 'cosine'] as const),
    warmupEpochs: num(w, '--warmup', str('warmup'), 0),
    device: opt('device', ['auto', 'cpu', 'cuda'] as const),
    out: str('out'),
    resume: str('resume'),
    limit: limit === 0 ? undefined : limit,
    valCount: int(w, '--val', str('val'), 0),
    augment: v['augment'] ? true : v['no-augment'] ? false : undefined,
    seed: int(w, '--seed', str('seed'), 0),
    workers: int(w, '--workers', str('workers'), 0),
    progress: opt('progress', ['auto', 'bar', 'lines', 'none'] as const),
    checkpointEverySteps: int(w, '--checkpoint-every', str('checkpoint-every'), 1),
  };
  applyThreads(w, str('threads'));
  let summary: RunSummary;
  try {
    summary = await trainWithSignals(options);
  } catch (err) {
    if (!(err instanceof AbortError)) throw err;
    restoreTerminal();
    const resume = err.checkpoint ? `; resume with --resume ${err.checkpoint}` : '';
    process.stderr.write(`senet: stopped at epoch ${err.epoch} step ${err.step}${resume}\n`);
    return 130;
  }
  if (v.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
    process.stdout.write(
      `trained ${summary.model} for ${summary.epochs} epoch(s) on ${summary.device} in ${summary.seconds.toFixed(0)} s: ` +
        `test accuracy ${pct(summary.testAccuracy)}, validation ${pct(summary.valAccuracy)}, ${summary.imagesPerSecond.toFixed(0)} img/s; run folder ${summary.out}\n`,
    );
  }
  return 0;
}

async function evaluate(argv: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  const { values: v } = parse(argv, { checkpoint: s, dataset: s, data: s, 'batch-size': s, device: s, threads: s });
  if (v.help) return out(EVAL_HELP);
  const w = 'senet eval';
  applyThreads(w, v.threads as string | undefined);
  if (!v.checkpoint) throw new SenetError('SENET_ARGUMENT', `${w}: --checkpoint PATH is required\n\n${EVAL_HELP}`);
  const r = await runEvaluation({
    checkpoint: v.checkpoint as string,
    dataset: v.dataset === undefined ? undefined : checkOneOf(w, '--dataset', v.dataset, RUN_DATASETS),
    data: v.data as string | undefined,
    batchSize: int(w, '--batch-size', v['batch-size'] as string | undefined, 1),
    device: v.device === undefined ? undefined : checkOneOf(w, '--device', v.device, ['auto', 'cpu', 'cuda'] as const),
  });
  if (v.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(`test loss ${r.testLoss.toFixed(4)}, accuracy ${(r.testAccuracy * 100).toFixed(2)}% on ${r.images} images (${r.device})\n`);
  return 0;
}

async function bench(argv: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  const { values: v } = parse(argv, {
    model: s, 'batch-size': s, size: s, channels: s, classes: s, stem: s, device: s, steps: s, warmup: s, repeats: s,
    'pytorch-format': s, threads: s, breakdown: { type: 'boolean' }, 'no-pytorch': { type: 'boolean' },
  });
  if (v.help) return out(BENCH_HELP);
  const w = 'senet bench';
  applyThreads(w, v.threads as string | undefined);
  const str = (k: string) => v[k] as string | undefined;
  const opt = <T extends string>(k: string, choices: readonly T[]) => (str(k) === undefined ? undefined : checkOneOf(w, `--${k}`, str(k), choices));
  const r = await runBench({
    model: opt('model', MODELS),
    batchSize: int(w, '--batch-size', str('batch-size'), 1),
    size: int(w, '--size', str('size'), 1),
    channels: int(w, '--channels', str('channels'), 1),
    classes: int(w, '--classes', str('classes'), 1),
    stem: opt('stem', ['imagenet', 'cifar'] as const),
    device: opt('device', ['auto', 'cpu', 'cuda'] as const),
    steps: int(w, '--steps', str('steps'), 1),
    warmup: int(w, '--warmup', str('warmup'), 0),
    repeats: int(w, '--repeats', str('repeats'), 1),
    pytorchFormat: opt('pytorch-format', ['nchw', 'channels_last', 'both'] as const),
    breakdown: v.breakdown === true,
    pytorch: v['no-pytorch'] !== true,
  });
  process.stdout.write(v.json ? `${JSON.stringify(r)}\n` : formatBench(r));
  return r.error ? 1 : 0;
}

function info(argv: string[]): number {
  const { values: v } = parse(argv, {});
  if (v.help) return out(INFO_HELP);
  const report = { version: version(), node: process.version, napiVersion: buildInfo().napiVersion, backends: backends() };
  if (v.json) return out(`${JSON.stringify(report)}\n`);
  const { cpu, cuda } = report.backends;
  const lines = [
    `senet ${report.version} (Node ${report.node}, N-API ${report.napiVersion})`,
    `cpu   available: oneDNN ${cpu.onednn}, ${cpu.isa}, ${cpu.runtime}, ${cpu.threads} thread(s), ${cpu.waitPolicy} waiting`,
    cuda.available ? 'cuda  available' : `cuda  unavailable: ${cuda.reason}`,
  ];
  if (cuda.built) {
    const ver = (n: number) => (n ? `${Math.floor(n / 1000)}.${(n % 1000) / 10}` : 'none');
    lines.push(`      driver supports CUDA ${ver(cuda.driverVersion)}, runtime CUDA ${ver(cuda.runtimeVersion)}`);
    for (const d of cuda.devices) {
      const mark = d.index === cuda.selectedDevice ? '*' : ' ';
      lines.push(`    ${mark} device ${d.index}: ${d.name}, compute ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB`);
    }
    const lib = (name: string, l: LibraryReport) => (l.loaded ? `      ${name} ${l.version} (${l.path})` : `      ${name}: ${l.reason}`);
    lines.push(lib('cuDNN', cuda.cudnn), lib('cuBLAS', cuda.cublas));
  }
  return out(lines.join('\n') + '\n');
}

function out(text: string): number {
  process.stdout.write(text);
  return 0;
}

const PREDICT_HELP = `Usage: senet predict --checkpoint PATH [options] IMAGE...

Prints the most probable classes of each image (PNG, JPEG, WebP, …), decoded and preprocessed as
the checkpoint's model was trained (its input size and channels, mean and std, class names).

  --checkpoint PATH   a checkpoint of senet train, or a weights file of senet export (required)
  --top-k N           classes per image (default 5)
  --batch-size N      images per forward pass (default 32)
  --device KIND       auto | cpu | cuda (default auto)
  --threads N         threads the CPU backend computes with (default: every core)
  --json              one JSON object per image and line: {"file", "top": [{"label", "index", "probability"}]}
`;

const EXPORT_HELP = `Usage: senet export --checkpoint PATH --format safetensors|onnx --out FILE

  --checkpoint PATH   a checkpoint of senet train (or a weights file)
  --format F          safetensors: the weights alone with timm's keys (timm's load_state_dict takes
                      them), the config and preprocessing in the metadata; onnx: an inference graph
                      (opset 17, NCHW float32 input "input" with a dynamic batch, output "logits")
  --out FILE          where to write (atomically)
`;

async function predict(argv: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  let r;
  try {
    r = parseArgs({ args: argv, options: { checkpoint: s, 'top-k': s, 'batch-size': s, device: s, threads: s, help: { type: 'boolean' }, json: { type: 'boolean' } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new SenetError('SENET_ARGUMENT', (err as Error).message);
  }
  const v = r.values as Flags;
  if (v.help) return out(PREDICT_HELP);
  const w = 'senet predict';
  if (!v.checkpoint) throw new SenetError('SENET_ARGUMENT', `${w}: --checkpoint PATH is required\n\n${PREDICT_HELP}`);
  if (r.positionals.length === 0) throw new SenetError('SENET_ARGUMENT', `${w}: expected one or more image files, received none\n\n${PREDICT_HELP}`);
  applyThreads(w, v.threads as string | undefined);
  const topK = int(w, '--top-k', v['top-k'] as string | undefined, 1) ?? 5;
  const batchSize = int(w, '--batch-size', v['batch-size'] as string | undefined, 1) ?? 32;
  const device = v.device === undefined ? undefined : checkOneOf(w, '--device', v.device, ['auto', 'cpu', 'cuda'] as const);
  const model = await loadModel(v.checkpoint as string, { device });
  try {
    if (!model.preprocessing) throw new SenetError('SENET_FORMAT', `${w}: ${v.checkpoint as string}: expected the preprocessing the model was trained with, received none (a checkpoint from before senet recorded it)`);
    const files = r.positionals;
    for (let start = 0; start < files.length; start += batchSize) {
      const chunk = files.slice(start, start + batchSize);
      const results = await model.predict(chunk, { topK, batchSize });
      chunk.forEach((file, i) => {
        const top = results[i]!;
        if (v.json) process.stdout.write(`${JSON.stringify({ file, top })}\n`);
        else process.stdout.write(`${file}: ${top.map((p) => `${p.label} ${(p.probability * 100).toFixed(1)}%`).join(', ')}\n`);
      });
    }
  } finally {
    model.dispose();
  }
  return 0;
}

// The ONNX file takes the checkpoint's input size and carries its preprocessing as metadata.
async function exportOnnxFile(model: SEResNeXt, file: string): Promise<void> {
  const p = model.preprocessing;
  const metadata = p ? { 'senet.preprocessing': JSON.stringify(p) } : undefined;
  await model.exportOnnx(file, { inputSize: p ? [p.height, p.width] : undefined, metadata });
}

async function exportModel(argv: string[]): Promise<number> {
  const s = { type: 'string' } as const;
  const { values: v } = parse(argv, { checkpoint: s, format: s, out: s });
  if (v.help) return out(EXPORT_HELP);
  const w = 'senet export';
  if (!v.checkpoint) throw new SenetError('SENET_ARGUMENT', `${w}: --checkpoint PATH is required\n\n${EXPORT_HELP}`);
  if (!v.out) throw new SenetError('SENET_ARGUMENT', `${w}: --out FILE is required\n\n${EXPORT_HELP}`);
  const format = checkOneOf(w, '--format', v.format ?? 'safetensors', ['safetensors', 'onnx'] as const);
  const model = await loadModel(v.checkpoint as string, { device: 'cpu' });
  try {
    if (format === 'safetensors') await model.saveWeights(v.out as string);
    else await exportOnnxFile(model, v.out as string);
  } finally {
    model.dispose();
  }
  process.stdout.write(`wrote ${v.out as string} (${format})\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return out(HELP);
  if (command === '--version') return out(`${version()}\n`);
  if (command === 'train') return train(rest);
  if (command === 'eval') return evaluate(rest);
  if (command === 'info') return info(rest);
  if (command === 'bench') return bench(rest);
  if (command === 'predict') return predict(rest);
  if (command === 'export') return exportModel(rest);
  process.stderr.write(`senet: unknown command '${command}'\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`senet: ${e.message ?? String(err)}${e.code ? ` [${e.code}]` : ''}\n`);
    process.exitCode = e.code === 'SENET_ARGUMENT' ? 2 : 1;
  },
);
