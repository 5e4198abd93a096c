/**
 * Weight initialisation as PyTorch computes it, on senet's layouts.
 */
import { checkNumber, checkOneOf, fail, shapeString } from './validate';
import { checkTensor, fillNormal, type Tensor } from './tensor';

/** Options of kaimingNormal. */
export interface KaimingOptions {
  /** 'fanOut' (timm's ResNet init, the default) or 'fanIn' (PyTorch's formula for Linear). */
  mode?: 'fanIn' | 'fanOut';
  /** Gain; default √2, the ReLU gain. */
  gain?: number;
  /** Seed of the counter-based generator (default 0). */
  seed?: number | bigint;
}

/**
 * Fan-in and fan-out of a weight as torch.nn.init computes them: for a conv weight, stored here as
 * (Cout, kH, kW, Cin / groups), fanIn = Cin / groups · kH · kW and fanOut = Cout · kH · kW; for a
 * linear weight (Out, In), fanIn = In and fanOut = Out.
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[1]!, fanOut: shape[0]! };
  if (shape.length === 4) {
    const receptive = shape[1]! * shape[2]!;
    return { fanIn: shape[3]! * receptive, fanOut: shape[0]! * receptive };
  }
  return fail('SENET_SHAPE', 'fans', 'shape', 'a linear (Out, In) or conv (Cout, kH, kW, Cin/groups) weight', shapeString(shape));
}

/** Fills a weight in place with N(0, gain² / fan), torch.nn.init.kaiming_normal_'s distribution. */
export function kaimingNormal(weight: Tensor, options?: KaimingOptions): Tensor {
  checkTensor('kaimingNormal', 'weight', weight);
  const mode = checkOneOf('kaimingNormal', 'mode', options?.mode ?? 'fanOut', ['fanIn', 'fanOut'] as const);
  const gain = checkNumber('kaimingNormal', 'gain', options?.gain ?? Math.SQRT2, 0);
  const f = fans(weight.shape);
  const fan = mode === 'fanIn' ? f.fanIn : f.fanOut;
  return fillNormal(weight, 0, gain / Math.sqrt(fan), { seed: options?.seed });
}
