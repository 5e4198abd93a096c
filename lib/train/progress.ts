/**
 * Progress of a training epoch: a progress bar on a terminal (cli-progress), plain lines
 * otherwise (a log file, CI), nothing when asked.
 */
import { SingleBar } from 'cli-progress';

/** The ways progress is shown. */
export const PROGRESS_MODES = ['auto', 'bar', 'lines', 'none'] as const;
/** How progress is shown. */
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** What one update shows. */
export interface ProgressState {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

/** Shows one epoch (or one evaluation) at a time. */
export interface Progress {
  /** `title` names what is counted (default `epoch E/EPOCHS`). */
  start(epoch: number, epochs: number, steps: number, firstStep: number, title?: string): void;
  update(s: ProgressState): void;
  stop(): void;
  /** A line of its own (epoch summaries), printed without breaking the bar. */
  line(text: string): void;
}

function seconds(v: number): string {
  if (!Number.isFinite(v)) return '?';
  const m = Math.floor(v / 60);
  return m > 0 ? `${m}m${String(Math.round(v % 60)).padStart(2, '0')}s` : `${Math.round(v)}s`;
}

class BarProgress implements Progress {
  private bar: SingleBar | undefined;
  private started = 0;
  private firstStep = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  start(epoch: number, epochs: number, steps: number, firstStep: number, title = `epoch ${epoch + 1}/${epochs}`): void {
    this.stop();
    this.started = Date.now();
    this.firstStep = firstStep;
    this.bar = new SingleBar({
      stream: this.stream,
      format: `${title} {bar} {percentage}% | {value}/{total} | {ips} img/s | loss {loss} | acc {acc} | ETA {left}`,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    });
    this.bar.start(steps, firstStep, { ips: '-', loss: '-', acc: '-', left: '-' });
  }

  update(s: ProgressState): void {
    const done = s.step - this.firstStep;
    const elapsed = (Date.now() - this.started) / 1000;
    const left = done > 0 ? (elapsed / done) * (s.steps - s.step) : NaN;
    this.bar?.update(s.step, {
      ips: s.imagesPerSecond.toFixed(0),
      loss: s.loss.toFixed(4),
      acc: `${(s.accuracy * 100).toFixed(1)}%`,
      left: seconds(left),
    });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  line(text: string): void {
    this.stop();
    this.stream.write(`${text}\n`);
  }
}

class LineProgress implements Progress {
  private nextAt = 0;
  private started = 0;
  private firstStep = 0;
  private title = '';

  constructor(private readonly write: (text: string) => void) {}

  start(epoch: number, epochs: number, steps: number, firstStep: number, title = `epoch ${epoch + 1}/${epochs}`): void {
    this.title = title;
    this.started = Date.now();
    this.firstStep = firstStep;
    this.nextAt = firstStep + Math.max(1, Math.ceil(steps / 10));
  }

  update(s: ProgressState): void {
    if (s.step < this.nextAt && s.step !== s.steps) return;
    this.nextAt = s.step + Math.max(1, Math.ceil(s.steps / 10));
    const done = s.step - this.firstStep;
    const elapsed = (Date.now() - this.started) / 1000;
    const left = done > 0 ? (elapsed / done) * (s.steps - s.step) : NaN;
    this.write(
      `${this.title}  step ${s.step}/${s.steps}  loss ${s.loss.toFixed(4)}  acc ${(s.accuracy * 100).toFixed(1)}%  ` +
        `${s.imagesPerSecond.toFixed(0)} img/s  eta ${seconds(left)}`,
    );
  }

  stop(): void {}

  line(text: string): void {
    this.write(text);
  }
}

class NoProgress implements Progress {
  start(): void {}
  update(): void {}
  stop(): void {}
  line(): void {}
}

/** The progress display for a mode; 'auto' is a bar on a terminal and lines elsewhere. */
export function makeProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr): Progress {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'bar') return new BarProgress(stream);
  if (resolved === 'lines') return new LineProgress((text) => stream.write(`${text}\n`));
  return new NoProgress();
}
