/**
 * Watches the training loss for the sign of a learning rate too high for the run: a loss that
 * climbs far above where it started and stays there. One bad batch, or the short climb many runs
 * make while warming up (the default run's loss goes from 2.3 to about 8 and back within some 25
 * steps of its first 906 and it reaches 89.7 %), is not enough: the median of the last 50 steps,
 * or an epoch's mean loss, must be over twice the start.
 */

/** Steps whose median loss is the start: few, as a loss too high for its rate climbs within ten. */
const START_STEPS = 5;
/** Steps whose median is compared with the start. */
const RECENT_STEPS = 50;
/** How far above the start: twice it, and at least one nat more. */
const FACTOR = 2;
const MARGIN = 1;

/** Where the step stands, for the warning's text. */
export interface StepContext {
  epoch: number;
  step: number;
  steps: number;
  lr: number;
}

/** Gives one warning, the first time the loss has stayed far above its start. */
export class DivergenceWatch {
  private readonly first: number[] = [];
  private readonly recent: number[] = [];
  private warned = false;

  /** Takes one step's loss (non-finite ones are the NaN policy's business); returns the warning, once. */
  observe(loss: number, at: StepContext): string | undefined {
    if (this.warned || !Number.isFinite(loss)) return undefined;
    if (this.first.length < START_STEPS) {
      this.first.push(loss);
      return undefined;
    }
    this.recent.push(loss);
    if (this.recent.length > RECENT_STEPS) this.recent.shift();
    if (this.recent.length < RECENT_STEPS) return undefined;
    const sorted = this.recent.slice().sort((a, b) => a - b);
    const median = (sorted[RECENT_STEPS / 2 - 1]! + sorted[RECENT_STEPS / 2]!) / 2;
    return this.check(median, `the median of the last ${RECENT_STEPS} steps`, `epoch ${at.epoch + 1} step ${at.step + 1}/${at.steps}`, at.lr);
  }

  /** Takes an epoch's mean training loss (epoch from 0) and its last learning rate; returns the warning, once. */
  observeEpoch(meanLoss: number, epoch: number, lr: number): string | undefined {
    if (this.warned || !Number.isFinite(meanLoss) || this.first.length < START_STEPS) return undefined;
    return this.check(meanLoss, `the mean of epoch ${epoch + 1}`, `the end of epoch ${epoch + 1}`, lr);
  }

  private check(loss: number, what: string, when: string, lr: number): string | undefined {
    const start = this.first.slice().sort((a, b) => a - b)[(START_STEPS - 1) / 2]!;
    if (loss <= Math.max(FACTOR * start, start + MARGIN)) return undefined;
    this.warned = true;
    return (
      `warning: the training loss has climbed from ${start.toFixed(2)} (its first ${START_STEPS} steps) to ${loss.toFixed(2)} (${what}) ` +
      `by ${when}, at learning rate ${lr.toPrecision(3)}: the learning rate is likely too high for this run (or its warmup ` +
      'too short in steps); a lower --lr (lr), a longer --warmup-steps (warmup), or more steps (a larger dataset or --limit, ' +
      'more --epochs) make it stable'
    );
  }
}
