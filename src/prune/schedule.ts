// Sparsity schedules for progressive pruning: the sparsity to reach at each pruning step.
// Pure arithmetic, no tfjs.
//
// agp (automated gradual pruning, Zhu & Gupta 2017, "To prune or not to prune"): with n steps
// spaced one apart from t0 = 0, s_t = s_f + (s_i - s_f) (1 - t / n)^3 for t = 1..n: large steps
// while many redundant weights remain, small ones near the end. linear: equal steps.
// oneshot: straight to s_f in one step.

export type ScheduleKind = 'agp' | 'linear' | 'oneshot';
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['agp', 'linear', 'oneshot'];

/** The target sparsity after each of the `steps` pruning steps, from `initial` to `final`. */
export function sparsitySchedule(kind: ScheduleKind, initial: number, final: number, steps: number): number[] {
  if (!(initial >= 0 && initial < 1) || !(final >= 0 && final < 1)) {
    throw new RangeError(`sparsities must be in [0, 1), got ${initial} -> ${final}`);
  }
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`pruning steps must be a whole number >= 1, got ${steps}`);
  if (!SCHEDULE_KINDS.includes(kind)) throw new RangeError(`schedule must be one of ${SCHEDULE_KINDS.join(', ')}, got '${String(kind)}'`);
  if (kind === 'oneshot') return [final];
  return Array.from({ length: steps }, (_, i) => {
    const t = (i + 1) / steps;
    if (i === steps - 1) return final; // exact, whatever the rounding of the formula
    return kind === 'agp' ? final + (initial - final) * (1 - t) ** 3 : initial + (final - initial) * t;
  });
}
