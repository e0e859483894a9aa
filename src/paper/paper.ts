// The paper's claim as one run (`mam paper`): a MAC and a MAM model of one shape, each swept
// under both protocols (papers: one shot from the dense model, no fine-tuning, the MAM layers
// alone; finetune: gradual pruning of the whole tail with fine-tuning), then, per protocol and
// kind, the sparsest point that still reaches the target ASNR, its tail's flash and RAM as the C
// export stores it, whether that fits the part, and its instructions per inference on the
// emulated Cortex-M7. Every step resumes: the sweeps from their sweep.json, the rest is redone.
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomically } from '../io/atomic.js';
import { snakeKeys } from '../report/json-keys.js';
import { withOutputLock } from '../io/lock.js';
import { MamError, msg, RequestError, setting } from '../errors.js';
import { findTarget, footprint, type Target } from '../export/footprint.js';
import { exportNetwork, kept } from '../export/network.js';
import { buildFirmware, meanInstructions, runFirmware } from '../mcu/session.js';
import { layerNames, shapeOf, type AutoencoderSpec } from '../model/autoencoder.js';
import { loadAutoencoder } from '../model/metadata.js';
import type { PruneRequest } from '../prune/pruner.js';
import { PROTOCOL_DESCRIPTIONS, type SweepProtocol } from '../sweep/protocol.js';
import { fewestWeights, SWEEP_KINDS, type SweepKind, type SweepPoint } from '../sweep/report.js';
import { runSweep, type DenseSource, type SweepFile, type SweepUi } from '../sweep/sweep.js';
import { trainOrResume, type SessionUi } from '../train/session.js';

export const PAPER_JSON = 'paper.json';
export const PAPER_MD = 'paper.md';

export interface PaperRequest {
  dir: string;
  /** Given models, or training configurations (trained into <dir>/models/<kind>). */
  models: Record<SweepKind, DenseSource>;
  targetDb: number;
  protocols: SweepProtocol[];
  grids: Record<SweepProtocol, number[]>;
  /** Pruning options but the layers (the protocols choose those unless `layers` is given). */
  prune: Omit<PruneRequest, 'sparsity' | 'layers'>;
  /** Layers to prune under each protocol (default: papers the MAM layers, finetune the tail). */
  layers?: Partial<Record<SweepProtocol, string[]>>;
  /**
   * When both models are trained here: start the MAM model from the trained MAC model's weights
   * (`mam train --from`) at this learning rate, after the MAC model, instead of from scratch.
   */
  mamFromMac?: { learningRate: number };
  /** Layers that run on the device (default: the decoder and the output layer). */
  tail?: number;
  part: string;
  /** Build and run each chosen tail on the emulated Cortex-M7 (needs arm-none-eabi-gcc and QEMU). */
  mcu: boolean;
  jobs: number;
  backend: string;
  threads?: number;
  signal?: AbortSignal;
}

export interface PaperUi {
  log(text: string): void;
  /** The dense models trained before the sweeps (with mamFromMac). */
  training?(kind: SweepKind): SessionUi;
  /** One per sweep: its progress (see SweepUi). */
  sweep(protocol: SweepProtocol): SweepUi;
}

/** The tail as a firmware image (`mam mcu build`) and its run on the emulator (`mam mcu run`; null when it did not run). */
export interface McuFigures {
  flash_bytes: number;
  ram_bytes: number;
  fits: boolean;
  /** Means over the golden windows. */
  instructions: number | null;
  layer_instructions: Record<string, number>;
  /** Outputs bit for bit the model's (they are always within the C export's tolerance). */
  outputs_identical: boolean | null;
}

export interface TailFigures {
  /** Kept connections of the tail's kernels, and all of them. */
  nonzeros: number;
  weights: number;
  /** As `mam footprint` computes them: weights and biases; activations, input and output. */
  flash_bytes: number;
  ram_bytes: number;
  fits: boolean;
  mcu: McuFigures | null;
  /** Why this tail has no emulator figures (when the others may). */
  mcu_note?: string;
}

export interface PaperRow {
  protocol: SweepProtocol;
  kind: SweepKind;
  /** The layers pruned under this protocol. */
  pruned_layers: string[];
  dense_asnr_db: number;
  dense: TailFigures;
  /** The sparsest point whose validation ASNR reaches the target (null when none does). */
  point: SweepPoint | null;
  at_target: TailFigures | null;
}

export interface LayerComparison {
  protocol: SweepProtocol;
  layer: string;
  mam_instructions: number;
  mac_instructions: number;
  /** MAM / MAC. */
  ratio: number;
}

export interface PaperTable {
  format: 'mam-paper';
  format_version: 1;
  target_db: number;
  part: Target;
  shape: string;
  tail_layers: string[];
  mam_layers: string[];
  /** How the MAM model was made: trained from the MAC model's weights, from scratch, or given. */
  mam_start: 'mac' | 'scratch' | 'given';
  /** Whether MAM's free first step (unselected connections) ran before each pruning. */
  drop_unselected: boolean;
  rows: PaperRow[];
  /** Each MAM layer against the same layer of the MAC model, at the points that reach the target. */
  mam_layer_vs_mac: LayerComparison[];
  /** Why the emulator figures are missing, when they are. */
  mcu_note: string | null;
  seconds: number;
}

async function specOf(source: DenseSource): Promise<AutoencoderSpec> {
  if ('train' in source) return source.train.spec;
  const { model, metadata } = await loadAutoencoder(source.dir);
  model.dispose();
  if (!metadata.training.state.finished) {
    throw new MamError(`${source.dir} is an unfinished training run (epoch ${metadata.training.state.epoch} of ${metadata.training.options.epochs}): finish its training first (resume it)`, { file: source.dir });
  }
  return metadata.spec;
}

/** Runs (or resumes) the whole comparison in `request.dir`, holding its output lock throughout. */
export function runPaper(request: PaperRequest, ui: PaperUi): Promise<PaperTable | null> {
  return withOutputLock(request.dir, () => runLocked(request, ui));
}

async function runLocked(request: PaperRequest, ui: PaperUi): Promise<PaperTable | null> {
  const started = performance.now();
  const dir = resolve(request.dir);
  const part = findTarget(request.part, 'part');
  const specs = { mac: await specOf(request.models.mac), mam: await specOf(request.models.mam) };
  for (const kind of SWEEP_KINDS) {
    const m = request.models[kind];
    if (specs[kind].kind !== kind) throw new MamError(msg`${setting(`models.${kind}`)} ${'dir' in m ? m.dir : ''} is a ${specs[kind].kind.toUpperCase()} model: give a ${kind.toUpperCase()} one`);
  }
  const names = layerNames(specs.mam);
  const tail = request.tail ?? specs.mam.decoder.length + 1;
  if (!(Number.isInteger(tail) && tail >= 1 && tail <= names.length)) throw new RequestError(msg`{tail} ${tail}: this network has ${names.length} layers; give 1 to ${names.length}`);
  const tailLayers = names.slice(names.length - tail);
  const outside = specs.mam.mamLayers.filter((l) => !tailLayers.includes(l));
  if (outside.length > 0) throw new RequestError(msg`the MAM layers ${outside.join(', ')} are not in the tail (${tailLayers.join(', ')}): the claim is about the part that runs on the device; give a longer {tail}`);
  for (const protocol of request.protocols) {
    const grid = request.grids[protocol];
    if (!grid.includes(0)) throw new RequestError(msg`${setting(`grids.${protocol}`)}: include 0, the dense point the table starts from (e.g. ${setting(`grids.${protocol}`)} 0,${grid.join(',')})`);
  }
  const layersOf: Record<SweepProtocol, string[]> = {
    papers: request.layers?.papers ?? specs.mam.mamLayers,
    finetune: request.layers?.finetune ?? tailLayers,
  };
  // Both sweeps start from the same dense models: trained once, into <dir>/models.
  let models = Object.fromEntries(SWEEP_KINDS.map((k) => {
    const m = request.models[k];
    return [k, 'train' in m ? { train: m.train, into: join(dir, 'models', k) } : m];
  })) as Record<SweepKind, DenseSource>;
  const { mac, mam } = request.models;
  if (request.mamFromMac && 'train' in mac && 'train' in mam) {
    // MAC first, then MAM from its weights: one after the other, each on all the threads.
    const macDir = join(dir, 'models', 'mac'), mamDir = join(dir, 'models', 'mam');
    const quiet: SessionUi = { log: ui.log, ...(request.signal ? { shouldStop: () => request.signal!.aborted } : {}) };
    ui.log(`training the dense MAC model, then the MAM model from its weights (lr ${request.mamFromMac.learningRate})`);
    if (!(await trainOrResume(mac.train, macDir, ui.training?.('mac') ?? quiet)).finished) return null;
    const converted = { ...mam.train, from: macDir, options: { ...mam.train.options, learningRate: request.mamFromMac.learningRate } };
    if (!(await trainOrResume(converted, mamDir, ui.training?.('mam') ?? quiet)).finished) return null;
    models = { mac: { dir: macDir }, mam: { dir: mamDir } };
  }

  const sweeps: Partial<Record<SweepProtocol, SweepFile>> = {};
  for (const protocol of request.protocols) {
    if (request.signal?.aborted) return null;
    ui.log(`sweep, protocol ${protocol} (${PROTOCOL_DESCRIPTIONS[protocol]}), pruning ${layersOf[protocol].join(', ')}`);
    const file = await runSweep({
      dir: join(dir, protocol), grid: request.grids[protocol], targetDb: request.targetDb, protocol,
      prune: { ...request.prune, layers: layersOf[protocol] }, models, jobs: request.jobs, backend: request.backend,
      ...(request.threads !== undefined ? { threads: request.threads } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    }, ui.sweep(protocol));
    if (request.signal?.aborted) return null;
    sweeps[protocol] = file;
  }

  let mcuNote: string | null = request.mcu ? null : 'not asked for (--no-mcu)';
  const figures = async (modelDir: string, buildDir: string): Promise<TailFigures> => {
    const { model, metadata } = await loadAutoencoder(modelDir);
    const net = exportNetwork(model, metadata.data.pipeline, tail);
    model.dispose();
    const fp = footprint(net, part);
    let mcu: McuFigures | null = null;
    let mcuMissing: string | undefined;
    if (mcuNote === null) {
      try {
        // A build stopped or failed earlier leaves sources that buildFirmware would refuse.
        await fs.rm(buildDir, { recursive: true, force: true });
        const build = await buildFirmware({ model: modelDir, out: buildDir, tail, target: request.part });
        mcu = { flash_bytes: build.flashBytes, ram_bytes: build.ramBytes, fits: build.fits, instructions: null, layer_instructions: {}, outputs_identical: null };
        const run = await runFirmware(buildDir);
        if (!run.withinTolerance) throw new MamError(`${buildDir}: the emulated outputs differ from the model's by ${run.worstRelativeError} of the largest: rebuild with mam mcu build and check with mam mcu run`);
        const means = meanInstructions(run);
        mcu.instructions = means.inference;
        mcu.layer_instructions = Object.fromEntries(net.layers.map((l, i) => [l.name, means.layers[i]!]));
        mcu.outputs_identical = run.identical;
      } catch (e) {
        if (!(e instanceof MamError) || request.signal?.aborted) throw e;
        mcuMissing = e.message;
        // Without the toolchain no build can succeed: say it once, and the rest of the table stands.
        if (/ not found: /.test(e.message)) mcuNote = e.message;
        ui.log(`no emulator figures for ${modelDir}: ${e.message}`);
      }
    }
    return {
      nonzeros: net.layers.reduce((n, l) => n + kept(l), 0),
      weights: net.layers.reduce((n, l) => n + l.inputSize * l.outputSize, 0),
      flash_bytes: fp.flash_bytes, ram_bytes: fp.ram_bytes, fits: fp.fits, mcu,
      ...(mcuMissing !== undefined && mcuNote === null ? { mcu_note: mcuMissing } : {}),
    };
  };

  const rows: PaperRow[] = [];
  const denseFigures: Partial<Record<SweepKind, TailFigures>> = {};
  for (const protocol of request.protocols) {
    const file = sweeps[protocol]!;
    for (const kind of SWEEP_KINDS) {
      const dense = file.points.find((p) => p.kind === kind && p.sparsity === 0)!; // the grids hold 0 (checked above)
      if (!denseFigures[kind]) {
        ui.log(`${kind}: the dense tail`);
        const m = models[kind];
        denseFigures[kind] = await figures('dir' in m ? resolve(m.dir) : join(dir, 'models', kind), join(dir, 'mcu', `${kind}-dense`));
      }
      const best = sparsestAtTarget(file.points.filter((p) => p.kind === kind), request.targetDb);
      let atTarget: TailFigures | null = null;
      if (best) {
        ui.log(`${kind}, ${protocol}: the point at sparsity ${best.sparsity} (${best.asnr_db.toFixed(2)} dB)`);
        if (request.signal?.aborted) return null;
        atTarget = best.sparsity === 0 ? denseFigures[kind]! : await figures(resolve(dir, protocol, best.model), join(dir, 'mcu', `${kind}-${protocol}-s${best.sparsity}`));
      }
      rows.push({ protocol, kind, pruned_layers: layersOf[protocol], dense_asnr_db: dense.asnr_db, dense: denseFigures[kind]!, point: best, at_target: atTarget });
    }
  }

  const comparisons: LayerComparison[] = [];
  for (const protocol of request.protocols) {
    const mac = rows.find((r) => r.protocol === protocol && r.kind === 'mac')?.at_target?.mcu;
    const mam = rows.find((r) => r.protocol === protocol && r.kind === 'mam')?.at_target?.mcu;
    if (!mac || !mam || mac.instructions === null || mam.instructions === null) continue;
    for (const layer of specs.mam.mamLayers) {
      const a = mam.layer_instructions[layer], b = mac.layer_instructions[layer];
      if (a !== undefined && b !== undefined) comparisons.push({ protocol, layer, mam_instructions: a, mac_instructions: b, ratio: a / b });
    }
  }
  const table: PaperTable = {
    format: 'mam-paper', format_version: 1, target_db: request.targetDb, part, shape: shapeOf(specs.mam),
    tail_layers: tailLayers, mam_layers: specs.mam.mamLayers,
    mam_start: 'dir' in request.models.mam ? 'given' : request.mamFromMac && 'train' in request.models.mac ? 'mac' : 'scratch',
    drop_unselected: request.prune.dropUnselected === true, rows, mam_layer_vs_mac: comparisons, mcu_note: mcuNote,
    seconds: (performance.now() - started) / 1000,
  };
  await writeFileAtomically(join(dir, PAPER_JSON), [`${JSON.stringify(snakeKeys(table), null, 2)}\n`]);
  await writeFileAtomically(join(dir, PAPER_MD), [paperMarkdown(table)]);
  return table;
}

/**
 * The point with the fewest kept weights whose validation ASNR reaches the target (the choice is
 * made on validation windows; the table reports its test ASNR), or null.
 */
export function sparsestAtTarget(points: SweepPoint[], targetDb: number): SweepPoint | null {
  return fewestWeights(points, (p) => p.val_asnr_db >= targetDb);
}

/** The table as Markdown (what README quotes), with the verdict per protocol. */
export function paperMarkdown(t: PaperTable): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const fits = (f: TailFigures) => (fitsPart(f) ? 'yes' : 'no');
  const lines = [
    `Network ${t.shape}; tail ${t.tail_layers.join(', ')} (MAM in ${t.mam_layers.join(', ')} of the MAM model, ${{ mac: 'trained from the MAC model\'s weights', scratch: 'trained from scratch', given: 'given' }[t.mam_start]}); target ${t.target_db} dB; ${t.part.name} (${n(t.part.flashBytes)} B flash, ${n(t.part.ramBytes)} B RAM); ${t.drop_unselected ? 'MAM connections never selected on the training windows pruned first' : 'no first step'}.`,
    '',
    '| protocol | kind | pruned layers | dense test ASNR (dB) | dense tail flash (B) | sparsest point at the target (validation) | its test ASNR (dB) | tail weights left | tail flash (B) | tail RAM (B) | fits | firmware image flash / RAM (B) | instructions per inference (tail) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...t.rows.map((r) => {
      const a = r.at_target;
      const cells = a
        ? [`${n(a.nonzeros)} of ${n(a.weights)}`, n(a.flash_bytes), n(a.ram_bytes), fits(a), a.mcu ? `${n(a.mcu.flash_bytes)} / ${n(a.mcu.ram_bytes)}` : '', a.mcu?.instructions != null ? n(a.mcu.instructions) : '']
        : ['', '', '', '', '', ''];
      return `| ${[r.protocol, r.kind.toUpperCase(), r.pruned_layers.join(', '), r.dense_asnr_db.toFixed(2), n(r.dense.flash_bytes), r.point ? String(r.point.sparsity) : 'none reaches it', r.point ? r.point.asnr_db.toFixed(2) : '', ...cells].join(' | ')} |`;
    }),
    '',
    ...t.mam_layer_vs_mac.map((c) => `- ${c.protocol}: layer ${c.layer} at the target, MAM ${n(c.mam_instructions)} instructions against MAC ${n(c.mac_instructions)} (${c.ratio.toFixed(2)}x)`),
    ...verdicts(t).map((v) => `- ${v}`),
    ...(t.mcu_note ? [`- emulator figures: ${t.mcu_note}`] : []),
    ...emulatorOutputs(t),
    '',
  ];
  return lines.join('\n');
}

/** What the emulated tails computed against the model, and why any has no figures. */
function emulatorOutputs(t: PaperTable): string[] {
  const tails = t.rows.flatMap((r) => [r.dense, ...(r.at_target ? [r.at_target] : [])]);
  const ran = tails.filter((f) => f.mcu?.outputs_identical != null);
  const notes = [...new Set(tails.flatMap((f) => (f.mcu_note ? [f.mcu_note] : [])))];
  return [
    ...(ran.length ? [`- emulated outputs: ${ran.every((f) => f.mcu!.outputs_identical) ? 'identical to the model\'s, bit for bit, in every tail' : 'within the C export\'s tolerance of the model\'s (not all bit for bit)'}`] : []),
    ...notes.map((m) => `- no emulator figures for a tail: ${m}`),
  ];
}

/** Whether a tail fits the part: the firmware image's sizes (code included) when it was built, else the weights'. */
export function fitsPart(f: TailFigures): boolean {
  return f.mcu ? f.mcu.fits : f.fits;
}

/** Per protocol: does the MAM tail fit at the target where the MAC tail does not? */
export function verdicts(t: PaperTable): string[] {
  const out: string[] = [];
  for (const protocol of [...new Set(t.rows.map((r) => r.protocol))]) {
    const mac = t.rows.find((r) => r.protocol === protocol && r.kind === 'mac')!;
    const mam = t.rows.find((r) => r.protocol === protocol && r.kind === 'mam')!;
    const reach = (r: PaperRow) => (r.at_target ? '' : `the ${r.kind.toUpperCase()} model reaches ${t.target_db} dB at no point, even dense (${r.dense_asnr_db.toFixed(2)} dB)`);
    const unreached = [reach(mac), reach(mam)].filter(Boolean);
    if (unreached.length > 0) {
      out.push(`${protocol}: not testable at ${t.target_db} dB: ${unreached.join('; ')}`);
      continue;
    }
    // One basis for both: the firmware images when both were built, else the weights' footprint.
    const images = mac.at_target!.mcu !== null && mam.at_target!.mcu !== null;
    const fitsOf = (r: PaperRow) => (images ? r.at_target!.mcu!.fits : r.at_target!.fits);
    const macFits = fitsOf(mac);
    const mamFits = fitsOf(mam);
    const claim = mamFits && !macFits ? 'reproduced: the MAM tail fits at the target and the MAC tail does not'
      : mamFits && macFits ? 'not reproduced: both tails fit at the target'
        : !mamFits && !macFits ? 'not reproduced: neither tail fits at the target'
          : 'not reproduced: the MAC tail fits at the target and the MAM tail does not';
    out.push(`${protocol}: ${claim}`);
  }
  return out;
}
