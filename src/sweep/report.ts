// The results of a pruning sweep (MAC and MAM models pruned along a grid of sparsities) as the
// user reads them: a CSV and a JSON table, an SVG of ASNR against remaining weights, and the
// comparison at a target ASNR. Pure: no tfjs, no files.
import { csvField } from '../report/csv-field.js';
import { lineChart } from '../report/svg.js';
import type { SweepProtocol } from './protocol.js';

export type SweepKind = 'mac' | 'mam';
export const SWEEP_KINDS: readonly SweepKind[] = ['mac', 'mam'];

/** Sparsities of the default grid (the issue's; the MAM papers' log-spaced remaining weights). */
export const DEFAULT_GRID = [0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999];
export const DEFAULT_TARGET_DB = 32.6;

export interface SweepPoint {
  /** How the point was pruned (every point of a sweep has its sweep's). */
  protocol: SweepProtocol;
  kind: SweepKind;
  /** The grid's sparsity, and what the masks reached (one connection per neuron always stays). */
  sparsity: number;
  actual_sparsity: number;
  /** 100 (1 - actual sparsity): remaining weights of the pruned layers, in %. */
  remaining_pct: number;
  nonzeros: number;
  weights: number;
  /** On the test split. */
  asnr_db: number;
  prd: number;
  val_asnr_db: number;
  /** With --quantize int8: the test ASNR of the point's int8 network (the integer reference). */
  int8_asnr_db?: number;
  /** The pruned model's directory, relative to the sweep's. */
  model: string;
}

export const CSV_COLUMNS = ['protocol', 'kind', 'sparsity', 'actual_sparsity', 'remaining_pct', 'nonzeros', 'weights', 'asnr_db', 'prd', 'val_asnr_db', 'int8_asnr_db', 'model'] as const;

/** Points in a fixed order: MAC first, then by sparsity. */
export function sortPoints(points: SweepPoint[]): SweepPoint[] {
  return [...points].sort((a, b) => SWEEP_KINDS.indexOf(a.kind) - SWEEP_KINDS.indexOf(b.kind) || a.sparsity - b.sparsity);
}

export function sweepCsv(points: SweepPoint[]): string {
  const rows = sortPoints(points).map((p) => CSV_COLUMNS.map((c) => csvField(String(p[c] ?? ''))).join(','));
  return `${[CSV_COLUMNS.join(','), ...rows].join('\n')}\n`;
}

export interface KindAtTarget {
  kind: SweepKind;
  /** The point with the fewest remaining weights at or above the target, or null if none is. */
  best: SweepPoint | null;
  /** ASNR of the dense model (sparsity 0), if it is in the sweep. */
  dense_asnr_db: number | null;
}

export interface SweepSummary {
  protocol: SweepProtocol;
  target_db: number;
  kinds: KindAtTarget[];
  /** MAC non-zeros / MAM non-zeros at the target, when both reach it. */
  ratio_mac_mam: number | null;
  /** The same comparison at "within `drop_db` of each kind's own dense ASNR". */
  drop_db: number;
  relative: KindAtTarget[];
  ratio_mac_mam_relative: number | null;
}

/** The point with the fewest kept weights among those that pass `reaches`, or null. */
export function fewestWeights(points: SweepPoint[], reaches: (p: SweepPoint) => boolean): SweepPoint | null {
  const ok = points.filter(reaches);
  return ok.length ? ok.reduce((a, b) => (b.nonzeros < a.nonzeros ? b : a)) : null;
}

function ratio(kinds: KindAtTarget[]): number | null {
  const mac = kinds.find((k) => k.kind === 'mac')?.best;
  const mam = kinds.find((k) => k.kind === 'mam')?.best;
  return mac && mam ? mac.nonzeros / mam.nonzeros : null;
}

/** Per kind, the fewest remaining weights that still reach `targetDb` (and within `dropDb` of dense). */
export function summarizeSweep(protocol: SweepProtocol, points: SweepPoint[], targetDb: number, dropDb = 1): SweepSummary {
  const per = (threshold: (p: SweepPoint, dense: number | null) => number): KindAtTarget[] =>
    SWEEP_KINDS.filter((k) => points.some((p) => p.kind === k)).map((kind) => {
      const own = points.filter((p) => p.kind === kind);
      const dense = own.find((p) => p.sparsity === 0)?.asnr_db ?? null;
      return { kind, best: fewestWeights(own, (p) => p.asnr_db >= threshold(p, dense)), dense_asnr_db: dense };
    });
  const kinds = per(() => targetDb);
  const relative = per((_, dense) => (dense === null ? Infinity : dense - dropDb));
  return { protocol, target_db: targetDb, kinds, ratio_mac_mam: ratio(kinds), drop_db: dropDb, relative, ratio_mac_mam_relative: ratio(relative) };
}

/** ASNR against remaining weights (%) on a log axis, falling from 100% to the right, with the target. */
export function sweepSvg(protocol: SweepProtocol, points: SweepPoint[], targetDb: number, title = `Test ASNR against remaining weights of the pruned layers (protocol ${protocol})`): string {
  const series = SWEEP_KINDS.filter((k) => points.some((p) => p.kind === k)).map((kind) => {
    const own = sortPoints(points.filter((p) => p.kind === kind));
    return { name: kind.toUpperCase(), x: own.map((p) => p.remaining_pct), y: own.map((p) => p.asnr_db), markers: true };
  });
  // Whole decades, so that the last one is labelled (0.1%, 1%, ...).
  const least = Math.min(100, ...points.map((p) => p.remaining_pct).filter((v) => v > 0));
  return lineChart({
    title, xLabel: 'remaining weights (%)', yLabel: 'ASNR (dB)', series, logX: true, reverseX: true,
    xDomain: [10 ** Math.floor(Math.log10(least) + 1e-9), 100],
    hLines: [{ y: targetDb, label: `target ${targetDb} dB` }],
  });
}
