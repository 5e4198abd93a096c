/**
 * Learning-rate schedules, as functions of training progress in epochs (fractional within an
 * epoch), so that resuming mid-epoch continues the same curve.
 */
import { checkInt, checkNumber, checkOneOf, fail } from '../validate';

/** A schedule and how to write it down. */
export interface LrSchedule {
  /** The learning rate at `epoch` (e.g. 2.5 = halfway through the third epoch). */
  lrAt(epoch: number): number;
  /** The description it was made from. */
  readonly spec: ScheduleSpec;
}

/** How a schedule is described (CLI flags, checkpoints). */
export type ScheduleSpec =
  | { kind: 'constant'; lr: number }
  | { kind: 'step'; lr: number; stepSize: number; gamma: number }
  | { kind: 'multistep'; lr: number; milestones: number[]; gamma: number }
  | { kind: 'cosine'; lr: number; epochs: number; warmupEpochs: number; minLr: number };

/** lr × gamma^floor(epoch / stepSize): the paper's ×0.1 every 30 epochs by default. */
export function stepLR(lr: number, stepSize = 30, gamma = 0.1): LrSchedule {
  return makeSchedule({ kind: 'step', lr, stepSize, gamma });
}

/** lr × gamma^(number of milestones passed). */
export function multiStepLR(lr: number, milestones: number[], gamma = 0.1): LrSchedule {
  return makeSchedule({ kind: 'multistep', lr, milestones, gamma });
}

/** Linear warmup from 0 over `warmupEpochs`, then cosine from lr down to minLr at `epochs`. */
export function cosineLR(lr: number, epochs: number, warmupEpochs = 0, minLr = 0): LrSchedule {
  return makeSchedule({ kind: 'cosine', lr, epochs, warmupEpochs, minLr });
}

/** Builds (and checks) a schedule from its description. */
export function makeSchedule(spec: ScheduleSpec): LrSchedule {
  const where = 'schedule';
  const kind = checkOneOf(where, 'kind', spec.kind, ['constant', 'step', 'multistep', 'cosine'] as const);
  const lr = checkNumber(where, 'lr', spec.lr, 0);
  switch (kind) {
    case 'constant':
      return { spec: { kind, lr }, lrAt: () => lr };
    case 'step': {
      const s = spec as Extract<ScheduleSpec, { kind: 'step' }>;
      const stepSize = checkInt(where, 'stepSize', s.stepSize, 1);
      const gamma = checkNumber(where, 'gamma', s.gamma, 0);
      return { spec: { kind, lr, stepSize, gamma }, lrAt: (e) => lr * gamma ** Math.floor(e / stepSize) };
    }
    case 'multistep': {
      const s = spec as Extract<ScheduleSpec, { kind: 'multistep' }>;
      if (!Array.isArray(s.milestones)) fail('SENET_ARGUMENT', where, 'milestones', 'an array of epochs', String(s.milestones));
      const milestones = s.milestones.map((m, i) => checkInt(where, `milestones[${i}]`, m, 1)).sort((a, b) => a - b);
      const gamma = checkNumber(where, 'gamma', s.gamma, 0);
      return { spec: { kind, lr, milestones, gamma }, lrAt: (e) => lr * gamma ** milestones.filter((m) => Math.floor(e) >= m).length };
    }
    case 'cosine': {
      const s = spec as Extract<ScheduleSpec, { kind: 'cosine' }>;
      const epochs = checkNumber(where, 'epochs', s.epochs, Number.MIN_VALUE);
      const warmupEpochs = checkNumber(where, 'warmupEpochs', s.warmupEpochs, 0, epochs);
      const minLr = checkNumber(where, 'minLr', s.minLr, 0, lr);
      return {
        spec: { kind, lr, epochs, warmupEpochs, minLr },
        lrAt: (e) => {
          if (e < warmupEpochs) return (lr * e) / warmupEpochs;
          const t = Math.min(1, (e - warmupEpochs) / Math.max(epochs - warmupEpochs, Number.MIN_VALUE));
          return minLr + ((lr - minLr) * (1 + Math.cos(Math.PI * t))) / 2;
        },
      };
    }
  }
}
