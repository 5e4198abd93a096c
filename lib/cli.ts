#!/usr/bin/env node
/**
 * The `senet` command: train, eval, predict, export, info, bench.
 */
import * as fs from 'node:fs';
import { setNumThreads, type LibraryReport } from './backends';
import { DEFAULT_BENCH, formatBench, runBench } from './bench';
import { SenetError } from './errors';
import { BENCH_FLAGS, EVAL_FLAGS, EXPORT_FLAGS, PREDICT_FLAGS, TRAIN_FLAGS } from './cli_flags';
import { parseFlags, parseFlagsAndArguments } from './flags';
import { backends, buildInfo } from './index';
import { PRESETS, type ModelName, type SEResNeXt } from './nn';
import { loadModel } from './predict/load';
import type { Precision } from './precision';
import { DEFAULT_RUN, RUN_OPTION_RULES, RUNS_DIR, runEvaluation, runTraining, type RunOptionKey, type RunOptions, type RunSummary } from './train/run';
import { AbortError } from './train/trainer';

const MODELS = Object.keys(PRESETS) as ModelName[];

const HELP = `Usage: senet <command> [options]

Commands:
  train       train SE-ResNeXt (with no options: ${DEFAULT_RUN.model}, 4.3 M parameters, on Fashion-MNIST, about two minutes on two CPU cores)
  eval        test loss and accuracy of a checkpoint
  predict     the most probable classes of image files (PNG, JPEG, WebP …) from a checkpoint
  export      a checkpoint's weights with timm's keys (safetensors), or as ONNX
  info        version, backends found, and why one is missing
  bench       training and inference images per second and peak memory, side by side with PyTorch
  help        this help; senet help <command> (or senet <command> --help) for a command's options

Options:
  --version   print the version

A value that does not parse or is out of range is refused with exit code 2, naming the flag.
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
  --epochs N          epochs in all, a resumed run's included (default ${DEFAULT_RUN.epochs})
  --batch-size N      at least 2; an incomplete last batch is dropped (default ${DEFAULT_RUN.batchSize})
  --lr X              peak learning rate, > 0 (default ${DEFAULT_RUN.lr})
  --momentum X        SGD momentum, in [0, 1] (default ${DEFAULT_RUN.momentum})
  --weight-decay X    in [0, 1] (default ${DEFAULT_RUN.weightDecay})
  --label-smoothing X in [0, 1] (default ${DEFAULT_RUN.labelSmoothing})
  --schedule KIND     constant | step (x0.1 every 30 epochs, the paper's) | multistep | cosine (default ${DEFAULT_RUN.schedule})
  --warmup X          warmup epochs of the cosine schedule, at most --epochs (default ${DEFAULT_RUN.warmupEpochs})
  --warmup-steps N    ... and at least N warmup steps, at most half the run's (default ${DEFAULT_RUN.warmupSteps})
  --device KIND       auto | cpu | cuda (default ${DEFAULT_RUN.device}: CUDA when fully available)
  --precision P       auto | fp32 | tf32 | bf16 (default auto: bf16 mixed precision on the GPU and
                      on a CPU with avx512_core_bf16 or AMX; fp32 elsewhere). tf32: TF32
                      tensor cores on the GPU, float32 on the CPU. A resumed run keeps its
                      checkpoint's unless this is given
  --out DIR           run folder: metrics.jsonl, curves.svg, checkpoint.safetensors (default: a new
                      ${RUNS_DIR}/<date>-<time>, with ${RUNS_DIR}/latest pointing at it; with --resume, the
                      checkpoint's folder). A folder that holds another run is refused (exit 2)
                      unless --overwrite; one that a running senet train writes is refused naming its pid
  --overwrite         replace the run --out holds (its checkpoint, metrics and curves)
  --resume PATH       continue from a checkpoint: its settings, except the flags given now (they win;
                      --model, --stem and --dataset must match it, and mid-epoch --batch-size, --limit,
                      --val and --seed too). A schedule flag or a new --epochs rebuilds the schedule
                      over the run's epochs; a finished run needs --epochs above the epochs it did
  --limit N           use only the first N training images (0: all, the default); the validation
                      and test sets stay whole
  --val N             training images held out for validation (default ${DEFAULT_RUN.valCount})
  --augment           random crops (and flips where they fit the data) while training; for long runs
  --no-augment        none (the default: the demo's few epochs learn faster without)
  --seed N            (default ${DEFAULT_RUN.seed})
  --workers N         data worker threads, 0 to 64 (default 1, 2 with more than 4 usable cores)
  --threads N         fix the CPU backend's threads at N (default: every core, fewer
                      while other processes keep cores busy)
  --checkpoint-every N  also checkpoint every N steps (default: at each epoch's end only)
  --progress KIND     auto | bar | lines | none (default auto: a bar on a terminal, lines otherwise;
                      none also hides the epoch summaries and the test line: only warnings and errors)
  --json              print one JSON object as the last line

Ctrl-C (SIGINT) or SIGTERM finishes the step, writes a checkpoint and exits with 130, printing
the --resume command that continues exactly; a second signal exits at once.
`;

const EVAL_HELP = `Usage: senet eval --checkpoint PATH [options]

  --checkpoint PATH   a checkpoint written by senet train (required)
  --dataset NAME      default: the checkpoint's
  --data DIR          the dataset's files (an image folder: its test/, else val/, else all of it)
  --batch-size N      (default 256)
  --device KIND       auto | cpu | cuda (default auto)
  --precision P       auto | fp32 | tf32 | bf16 (default auto: the checkpoint's where it runs here, else fp32)
  --threads N         fix the CPU backend's threads at N (default: every core, fewer
                      while other processes keep cores busy)
  --progress KIND     auto | bar | lines | none (default auto: a bar on a terminal, lines otherwise)
  --json              print one JSON object as the last line
`;

const BENCH_HELP = `Usage: senet bench [options]

Times training steps (upload, forward, loss, backward, SGD step) and inference steps on random
data, as the median of repeats after warm-up steps, and reports peak memory. When a Python with
torch is found ($SENET_PYTHON, python3, /usr/bin/python3), bench/pytorch/seresnext_bench.py runs
the same network, batch and SGD in PyTorch with as many threads as senet's, and the ratios
senet / PyTorch are printed.

  --model NAME        ${MODELS.join(' | ')} (default ${DEFAULT_BENCH.model})
  --batch-size N      at least 2 (default ${DEFAULT_BENCH.batchSize})
  --size N            image height and width (default ${DEFAULT_BENCH.size})
  --channels N        image channels (default ${DEFAULT_BENCH.channels})
  --classes N         (default ${DEFAULT_BENCH.classes})
  --stem KIND         imagenet | cifar (default: the model's)
  --device KIND       auto | cpu | cuda (default ${DEFAULT_BENCH.device}: CUDA when fully available)
  --threads N         fix the CPU backend's threads at N (default: every core, fewer
                      while other processes keep cores busy)
  --steps N           steps per timed repeat (default ${DEFAULT_BENCH.steps})
  --warmup N          untimed steps first (default ${DEFAULT_BENCH.warmup})
  --repeats N         timed repeats; each figure is their median (default ${DEFAULT_BENCH.repeats})
  --precision P       fp32 | tf32 | bf16 (default ${DEFAULT_BENCH.precision}); PyTorch runs the matching mode:
                      bf16 is torch.autocast(bfloat16) with channels-last, tf32 allow_tf32 on CUDA
  --breakdown         also time each op family (conv + BN + ReLU, SE, pooling, linear, loss, SGD, data, other)
  --no-pytorch        do not run PyTorch
  --pytorch-format F  PyTorch's memory format: nchw (its default) | channels_last | both (default ${DEFAULT_BENCH.pytorchFormat})
  --json              print one JSON object as the last line
`;

const PREDICT_HELP = `Usage: senet predict --checkpoint PATH [options] IMAGE...

Prints the most probable classes of each image (PNG, JPEG, WebP, …), decoded and preprocessed as
the checkpoint's model was trained (its input size and channels, mean and std, class names).

  --checkpoint PATH   a checkpoint of senet train, or a weights file of senet export (required)
  --top-k N           classes per image (default 5)
  --batch-size N      images per forward pass (default 32)
  --device KIND       auto | cpu | cuda (default auto)
  --threads N         fix the CPU backend's threads at N (default: every core, fewer
                      while other processes keep cores busy)
  --json              one JSON object per image and line: {"file", "top": [{"label", "index", "probability"}]}
`;

const EXPORT_HELP = `Usage: senet export --checkpoint PATH --format safetensors|onnx --out FILE

  --checkpoint PATH   a checkpoint of senet train (or a weights file of senet export) (required)
  --format F          safetensors: the weights alone with timm's keys (timm's load_state_dict takes
                      them), the config and preprocessing in the metadata; onnx: an inference graph
                      (opset 17, NCHW float32 input "input" with a dynamic batch, output "logits")
                      at the checkpoint's input size (default safetensors)
  --out FILE          where to write, atomically (required)
  --json              print {"file", "format", "bytes"} instead of a sentence
`;

const INFO_HELP = `Usage: senet info [--json]

Prints the version, the CPU backend (oneDNN), and the CUDA backend: its devices and libraries,
or exactly why it is unavailable.
`;

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

function applyThreads(v: number | undefined): void {
  if (v !== undefined) setNumThreads(v);
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
  const v = parseFlags('senet train', argv, TRAIN_FLAGS);
  if (v.help) return out(TRAIN_HELP);
  if (v['augment'] && v['no-augment']) throw new SenetError('SENET_ARGUMENT', 'senet train: --augment, --no-augment: expected one of them, received both');
  const options: Record<string, unknown> = {};
  for (const [key, { flag }] of Object.entries(RUN_OPTION_RULES) as [RunOptionKey, { flag: string }][]) {
    const value = v[flag.slice(2)];
    if (value !== undefined) options[key] = value;
  }
  // --limit 0 means every image, as leaving it out does.
  if (options['limit'] === 0) delete options['limit'];
  if (v['no-augment']) options['augment'] = false;
  applyThreads(v['threads'] as number | undefined);
  let summary: RunSummary;
  try {
    summary = await trainWithSignals(options as Partial<RunOptions>);
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
  const w = 'senet eval';
  const v = parseFlags(w, argv, EVAL_FLAGS);
  if (v.help) return out(EVAL_HELP);
  applyThreads(v['threads'] as number | undefined);
  if (v['checkpoint'] === undefined) throw new SenetError('SENET_ARGUMENT', `${w}: --checkpoint: expected a checkpoint's path (required), received none\n\n${EVAL_HELP}`);
  const r = await runEvaluation({
    checkpoint: v['checkpoint'] as string,
    dataset: v['dataset'] as RunOptions['dataset'] | undefined,
    data: v['data'] as string | undefined,
    batchSize: v['batch-size'] as number | undefined,
    device: v['device'] as RunOptions['device'] | undefined,
    precision: v['precision'] as RunOptions['precision'] | undefined,
    progress: (v['progress'] as RunOptions['progress'] | undefined) ?? 'auto',
  });
  if (v.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(`test loss ${r.testLoss.toFixed(4)}, accuracy ${(r.testAccuracy * 100).toFixed(2)}% on ${r.images} images (${r.device}, ${r.precision})\n`);
  return 0;
}

async function bench(argv: string[]): Promise<number> {
  const v = parseFlags('senet bench', argv, BENCH_FLAGS);
  if (v.help) return out(BENCH_HELP);
  applyThreads(v['threads'] as number | undefined);
  const r = await runBench({
    model: v['model'] as ModelName | undefined,
    batchSize: v['batch-size'] as number | undefined,
    size: v['size'] as number | undefined,
    channels: v['channels'] as number | undefined,
    classes: v['classes'] as number | undefined,
    stem: v['stem'] as 'imagenet' | 'cifar' | undefined,
    device: v['device'] as 'auto' | 'cpu' | 'cuda' | undefined,
    steps: v['steps'] as number | undefined,
    warmup: v['warmup'] as number | undefined,
    repeats: v['repeats'] as number | undefined,
    pytorchFormat: v['pytorch-format'] as 'nchw' | 'channels_last' | 'both' | undefined,
    precision: v['precision'] as Precision | undefined,
    breakdown: v['breakdown'] === true,
    pytorch: v['no-pytorch'] !== true,
  });
  process.stdout.write(v.json ? `${JSON.stringify(r)}\n` : formatBench(r));
  return r.error ? 1 : 0;
}

async function predict(argv: string[]): Promise<number> {
  const w = 'senet predict';
  const { values: v, rest: files } = parseFlagsAndArguments(w, argv, PREDICT_FLAGS, true);
  if (v.help) return out(PREDICT_HELP);
  if (v['checkpoint'] === undefined) throw new SenetError('SENET_ARGUMENT', `${w}: --checkpoint: expected a checkpoint's path (required), received none\n\n${PREDICT_HELP}`);
  if (files.length === 0) throw new SenetError('SENET_ARGUMENT', `${w}: images: expected one or more image files, received none\n\n${PREDICT_HELP}`);
  applyThreads(v['threads'] as number | undefined);
  const topK = (v['top-k'] as number | undefined) ?? 5;
  const batchSize = (v['batch-size'] as number | undefined) ?? 32;
  const model = await loadModel(v['checkpoint'] as string, { device: v['device'] as RunOptions['device'] | undefined });
  try {
    if (!model.preprocessing) {
      throw new SenetError('SENET_FORMAT', `${w}: ${v['checkpoint'] as string}: expected the preprocessing the model was trained with, received none (a checkpoint from before senet recorded it)`);
    }
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
  const w = 'senet export';
  const v = parseFlags(w, argv, EXPORT_FLAGS);
  if (v.help) return out(EXPORT_HELP);
  if (v['checkpoint'] === undefined) throw new SenetError('SENET_ARGUMENT', `${w}: --checkpoint: expected a checkpoint's path (required), received none\n\n${EXPORT_HELP}`);
  if (v['out'] === undefined) throw new SenetError('SENET_ARGUMENT', `${w}: --out: expected the file to write (required), received none\n\n${EXPORT_HELP}`);
  const format = (v['format'] as 'safetensors' | 'onnx' | undefined) ?? 'safetensors';
  const model = await loadModel(v['checkpoint'] as string, { device: 'cpu' });
  try {
    if (format === 'safetensors') await model.saveWeights(v['out'] as string);
    else await exportOnnxFile(model, v['out'] as string);
  } finally {
    model.dispose();
  }
  const file = v['out'] as string;
  const bytes = (await fs.promises.stat(file)).size;
  process.stdout.write(v.json ? `${JSON.stringify({ file, format, bytes })}\n` : `wrote ${file} (${format}, ${bytes} bytes)\n`);
  return 0;
}

function info(argv: string[]): number {
  const v = parseFlags('senet info', argv, []);
  if (v.help) return out(INFO_HELP);
  const report = { version: version(), node: process.version, napiVersion: buildInfo().napiVersion, backends: backends() };
  if (v.json) return out(`${JSON.stringify(report)}\n`);
  const { cpu, cuda } = report.backends;
  const lines = [
    `senet ${report.version} (Node ${report.node}, N-API ${report.napiVersion})`,
    `cpu   available: oneDNN ${cpu.onednn}, ${cpu.isa}, ${cpu.runtime}, ${cpu.threads} thread(s) (${cpu.adaptiveThreads ? 'fewer while other processes keep cores busy' : 'fixed'}${cpu.cpuQuota !== null ? `; cgroup CPU quota ${cpu.cpuQuota} core(s)` : ''}), ${cpu.waitPolicy} waiting`,
    `      bf16: ${cpu.bf16.supported ? 'yes (precision bf16 runs here; senet train uses it by default)' : `no: ${cpu.bf16.reason}`}`,
    cuda.available ? `cuda  available (precisions fp32, tf32 and bf16; senet train uses bf16 by default; convolution algorithms ${cuda.convolutionAlgorithms.measured ? 'measured' : 'by heuristics'}${cuda.convolutionAlgorithms.deterministic ? ', deterministic only' : ''})` : `cuda  unavailable: ${cuda.reason}`,
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

const COMMAND_HELP: Record<string, string> = { train: TRAIN_HELP, eval: EVAL_HELP, predict: PREDICT_HELP, export: EXPORT_HELP, bench: BENCH_HELP, info: INFO_HELP };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' && rest.length > 0) {
    const text = rest.length === 1 ? COMMAND_HELP[rest[0]!] : undefined;
    if (text === undefined) throw new SenetError('SENET_ARGUMENT', `senet help: command: expected one of ${Object.keys(COMMAND_HELP).join(', ')}, received ${rest.join(' ')}`);
    return out(text);
  }
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
    const message = e.message ?? String(err);
    process.stderr.write(`${message.startsWith('senet ') ? '' : 'senet: '}${message}${e.code ? ` [${e.code}]` : ''}\n`);
    process.exitCode = e.code === 'SENET_ARGUMENT' ? 2 : 1;
  },
);
