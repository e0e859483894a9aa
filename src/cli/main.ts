import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { register as registerDataInfo } from './commands/data-info.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerExport } from './commands/export.js';
import { register as registerFootprint } from './commands/footprint.js';
import { register as registerInfo } from './commands/info.js';
import { register as registerMcu } from './commands/mcu.js';
import { register as registerPaper } from './commands/paper.js';
import { register as registerPrune } from './commands/prune.js';
import { register as registerSweep } from './commands/sweep.js';
import { register as registerSynth } from './commands/synth.js';
import { register as registerTrain } from './commands/train.js';
import { reportError } from './run.js';

// Compiled to dist/src/cli/main.js; package.json is at the project root.
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('mam')
  .description('MAM (Multiply-And-Max/min) ECG autoencoders on TensorFlow.js')
  .version(pkg.version)
  // Validated by initBackend (not commander .choices()) so a bad name is a one-line MamError,
  // and $MAM_BACKEND is read there too so `mam info` can say which one asked.
  .option('--backend <name>', 'tfjs backend: tensorflow | wasm | cpu (default: $MAM_BACKEND, else best available)')
  .showHelpAfterError();

// One file per command in ./commands, each exporting register(program).
for (const register of [registerInfo, registerSynth, registerDataInfo, registerTrain, registerEval, registerPrune, registerSweep, registerExport, registerFootprint, registerMcu, registerPaper]) register(program);

try {
  await program.parseAsync();
} catch (err) {
  reportError(err);
}
