import chalk from 'chalk';
import type { Command } from 'commander';
import type { LayerRow, PruneStepRecord } from '../../prune/pruner.js';
import { pruneSaved } from '../../prune/session.js';
import { createProgress, type Progress } from '../../report/progress.js';
import { formatTable, numberColumn } from '../../report/table.js';
import { addPruneOptions, PRUNE_FLAGS, pruneRequest, sparsityOption, type PruneFlags } from '../prune-options.js';
import { setRunDefaults } from '../../train/steppers.js';
import { addThreadsOption, threadsOption } from '../options.js';
import { action, printJson } from '../run.js';

interface PruneCommandFlags extends PruneFlags {
  model: string;
  sparsity: string;
  out: string;
  json?: boolean;
  threads?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('prune')
    .description('prune a trained model progressively to a sparsity, fine-tuning between steps, and save it')
    .requiredOption('--model <dir>', 'model directory written by mam train (or mam prune)')
    .requiredOption('--sparsity <s>', 'fraction of the pruned layers\' weights to remove, in [0, 1), e.g. 0.9')
    .requiredOption('--out <dir>', 'model directory to write the pruned model to')
    .option('--json', 'print the run (options, steps, layers, totals) as one JSON object on stdout');
  addThreadsOption(cmd, 'fine-tuning threads');
  addPruneOptions(cmd).action(action(async (flags: PruneCommandFlags) => {
    setRunDefaults({ threads: threadsOption(flags.threads) });
    const request = { ...pruneRequest(flags), sparsity: sparsityOption('--sparsity', flags.sparsity) };
    const steps = request.schedule === 'oneshot' ? 1 : request.steps;
    let progress: Progress | undefined;
    const log = (text: string) => (progress ? progress.line(text) : process.stderr.write(`${text}\n`));
    const outcome = await pruneSaved(flags.model, flags.out, request, {
      log,
      onEpoch: () => {
        progress ??= createProgress({ total: steps * request.fineTuneEpochs, label: 'fine-tuning' });
        progress.tick(1);
      },
      onStep: (r) => log(stepLine(r, steps)),
    });
    progress?.done();
    const { run } = outcome;
    process.stderr.write(`saved ${flags.out}: sparsity ${run.after.sparsity.toFixed(4)}, validation ASNR ${run.after.valAsnrDb.toFixed(2)} dB (before ${run.before.valAsnrDb.toFixed(2)} dB)${run.after.test ? `, test ASNR ${run.after.test.asnr_db.toFixed(2)} dB` : ''}\n`);
    if (flags.json) printJson({ model: flags.model, out: flags.out, ...run, totals: totals(run.layers) });
    else process.stdout.write(formatLayerTable(run.layers));
  }, { flags: PRUNE_FLAGS }));
}

function stepLine(r: PruneStepRecord, steps: number): string {
  if (r.step === 0) return `first step (unselected MAM connections): sparsity ${r.sparsity.toFixed(4)}, validation ASNR ${r.valAsnrDb.toFixed(2)} dB (${r.seconds.toFixed(1)} s)`;
  return `step ${r.step}/${steps}: target sparsity ${r.target.toFixed(4)}, actual ${r.sparsity.toFixed(4)}, validation ASNR ${r.valAsnrDb.toFixed(2)} dB (${r.fineTuneEpochs} fine-tuning epochs, ${r.seconds.toFixed(1)} s)`;
}

/** Weights and non-zeros over the pruned layers and over all MAM and MAC layers. */
function totals(rows: LayerRow[]) {
  const sum = (rs: LayerRow[]) => {
    const weights = rs.reduce((a, r) => a + r.weights, 0);
    const nonzeros = rs.reduce((a, r) => a + r.nonzeros, 0);
    return { weights, nonzeros, sparsity: weights ? 1 - nonzeros / weights : 0 };
  };
  return { pruned: sum(rows.filter((r) => r.pruned)), all: sum(rows) };
}

/** The per-layer table pruning tools print: layer, kind, shape, weights, non-zeros, sparsity; totals. */
export function formatLayerTable(rows: LayerRow[]): string {
  const columns = [
    { header: 'layer', width: 8 }, { header: 'kind', width: 5 }, { header: 'shape', width: 10 },
    ...['weights', 'non-zeros', 'sparsity', 'pruned'].map((h) => numberColumn(h, 10)),
  ];
  const row = (r: LayerRow) => [
    r.name, r.kind + (r.prunedAs === 'absent' ? '*' : ''), `${r.inputs}x${r.outputs}`, String(r.weights), String(r.nonzeros),
    `${(100 * r.sparsity).toFixed(2)}%`, r.pruned ? 'yes' : 'no',
  ];
  const t = totals(rows);
  const total = (name: string, s: { weights: number; nonzeros: number; sparsity: number }) =>
    [name, '', '', String(s.weights), String(s.nonzeros), `${(100 * s.sparsity).toFixed(2)}%`].map((c) => chalk.bold(c));
  const lines = formatTable(columns, [...rows.map(row), total('pruned', t.pruned), total('all', t.all)], { styleHeader: chalk.dim });
  if (rows.some((r) => r.prunedAs === 'absent')) lines.push(chalk.dim('* pruned MAM connections are absent from the max/min'));
  return `${lines.join('\n')}\n`;
}
