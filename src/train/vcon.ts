// The vanishing-contributions schedule (README, "The MAM layer, precisely"): the weight beta
// of the dense term in every MamDense layer, stepped once per optimizer step from 1 (pure MAC)
// to 0 (pure MAM) over `steps` steps, then held at 0. Pure arithmetic, no tfjs.

export type VconShape = 'linear' | 'exponential';

export interface VconOptions {
  /** Optimizer steps from beta = 1 to beta = 0 (vcon epochs x batches per epoch). 0: pure MAM from the start. */
  steps: number;
  shape: VconShape;
  /** Exponential only: beta is set to 0 once it falls to eps or below. */
  eps?: number;
}

export const DEFAULT_VCON_EPS = 1e-3;

/**
 * beta after `step` optimizer steps, in closed form (so a resumed run continues exactly):
 * linear: 1 - step / steps; exponential: r^step with r = exp(ln(eps) / steps), 0 once <= eps.
 */
export function vconBeta(step: number, { steps, shape, eps = DEFAULT_VCON_EPS }: VconOptions): number {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`vcon step must be a whole number >= 0, got ${step}`);
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`vcon steps must be a whole number >= 0, got ${steps}`);
  if (shape !== 'linear' && shape !== 'exponential') {
    throw new RangeError(`vcon shape must be 'linear' or 'exponential', got '${String(shape)}'`);
  }
  if (shape === 'exponential' && !(eps > 0 && eps < 1)) throw new RangeError(`vcon eps must be in (0, 1), got ${eps}`);
  // Exponential: r^step > eps for every step < steps and r^steps = eps, so "0 once beta <= eps"
  // is exactly "0 from step `steps` on", as for linear.
  if (step >= steps) return 0;
  return shape === 'linear' ? 1 - step / steps : Math.exp((Math.log(eps) * step) / steps);
}

/** A stepping schedule: `beta` is the value for the next optimizer step. */
export class VconSchedule {
  private step_: number;

  constructor(readonly options: VconOptions, startStep = 0) {
    this.step_ = startStep;
    vconBeta(startStep, options); // validates the options now rather than mid-training
  }

  get step(): number {
    return this.step_;
  }

  get beta(): number {
    return vconBeta(this.step_, this.options);
  }

  /** Advances one optimizer step and returns the new beta. */
  advance(): number {
    this.step_ += 1;
    return this.beta;
  }
}
