import chalk from 'chalk';
import type { Command } from 'commander';
import { backendInfo } from '../../backend.js';
import { mamKernelInfo } from '../../layers/mam-wasm.js';
import { formatTable } from '../../report/table.js';
import { defaultThreads } from '../../train/steppers.js';
import { kernelsUnavailable } from '../../wasm/kernels.js';
import { action, printJson } from '../run.js';

export function register(program: Command): void {
  program
    .command('info')
    .description('show the TensorFlow.js backend in use, why it was chosen, and versions')
    .option('--json', 'print one JSON object {backend, reason, mamKernel, trainingEngine, versions}')
    .action(
      action((opts: { json?: boolean }) => {
        const info = backendInfo()!; // set by action() before we run
        const kernel = mamKernelInfo();
        const unavailable = kernelsUnavailable();
        const engine = unavailable ? `unavailable (${unavailable}): training through tfjs autograd` : `WebAssembly SIMD, ${defaultThreads()} threads by default (--threads)`;
        if (opts.json) {
          printJson({
            backend: info.name, reason: info.reason, mamKernel: kernel.impl,
            trainingEngine: unavailable ? null : { threads: defaultThreads() }, versions: info.versions,
          });
          return;
        }
        // chalk 5 turns itself off when stdout is not a TTY, so pipes stay plain.
        const lines = [
          ...formatTable([{}, {}], [
            [chalk.dim('backend'), chalk.bold(info.name)],
            [chalk.dim('reason'), info.reason],
            [chalk.dim('kernel'), `MAM forward in ${kernel.impl}${kernel.impl === 'js' ? ` (${kernel.reason})` : ''}`],
            [chalk.dim('training'), engine],
          ]),
          chalk.dim('versions'),
          ...formatTable([{ width: 18 }, {}], Object.entries(info.versions), { indent: '  ' }),
        ];
        process.stdout.write(lines.join('\n') + '\n');
      }),
    );
}
