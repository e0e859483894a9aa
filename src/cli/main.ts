import { readFileSync } from 'node:fs';
import chalk from 'chalk';
import { Command, CommanderError } from 'commander';
import { register as registerCv } from './commands/cv.js';
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
import { EXIT, quietOnClosedPipe, reportError } from './run.js';

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
  .option('--color', 'colour the output even when it is not a terminal (as FORCE_COLOR=1)')
  .option('--no-color', 'no colour (as NO_COLOR=1)')
  .showHelpAfterError()
  // Commander's own errors (unknown option, missing argument) are usage errors: exit 2.
  .exitOverride((err: CommanderError) => {
    throw err.exitCode === 0 ? err : new CommanderError(EXIT.usage, err.code, err.message);
  })
  .hook('preAction', (cmd) => setColor(cmd.opts<{ color?: boolean }>().color));

/**
 * Colour: --color / --no-color win, then FORCE_COLOR (which chalk reads itself), then NO_COLOR
 * (no-color.org: set and not empty), else chalk's own test for a terminal.
 */
function setColor(flag: boolean | undefined): void {
  if (flag === true) chalk.level = Math.max(chalk.level, 1) as typeof chalk.level;
  else if (flag === false) chalk.level = 0;
  else if (!process.env.FORCE_COLOR && process.env.NO_COLOR) chalk.level = 0;
}

// One file per command in ./commands, each exporting register(program).
for (const register of [registerInfo, registerSynth, registerDataInfo, registerTrain, registerEval, registerCv, registerPrune, registerSweep, registerExport, registerFootprint, registerMcu, registerPaper]) register(program);

quietOnClosedPipe();
try {
  await program.parseAsync();
} catch (err) {
  // Commander has printed its own message (and the help) already.
  if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else reportError(err);
}
