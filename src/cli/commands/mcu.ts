import type { Command } from 'commander';
import { TARGETS } from '../../export/footprint.js';
import { STACK_BYTES } from '../../mcu/firmware.js';
import { buildFirmware, meanInstructions, runFirmware, type FirmwareBuild } from '../../mcu/session.js';
import { formatTable } from '../../report/table.js';
import { addQuantizeOptions, intOption, quantizeOptions, type QuantizeFlags } from '../options.js';
import { action, printJson } from '../run.js';

interface BuildFlags extends QuantizeFlags { model: string; out: string; tail?: string; target: string; golden: string; maxnm: boolean; json?: boolean }

const CAVEAT = 'instruction counts from QEMU (-icount): not cycles on the real chip (no caches, pipeline or flash wait states there)';

export function register(program: Command): void {
  const mcu = program.command('mcu').description('the exported network on a Cortex-M7: cross-compile (arm-none-eabi-gcc) and run under emulation (QEMU mps2-an500)');
  const build = mcu
    .command('build')
    .description('export the C, add a bare-metal harness, cross-compile for -mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard, and report the image\'s sections against the target')
    .requiredOption('--model <dir>', 'model directory written by mam train or mam prune')
    .requiredOption('--out <dir>', 'directory for the sources, firmware.elf and build.json')
    .option('--tail <k>', 'only the last K layers (the part that runs on the device)')
    .option('--target <part>', `flash and RAM to check against: ${Object.keys(TARGETS).join(', ')}`, 'stm32f767zi')
    .option('--golden <n>', 'test windows the image runs and checks', '4')
    .option('--no-maxnm', 'the MAM max and min as strict compares and selects, without -DMAM_MAXNM (VMAXNM/VMINNM: the same outputs but for NaN products, fewer instructions)')
    .option('--json', 'print build.json');
  addQuantizeOptions(build, 'build')
    .action(action(async (flags: BuildFlags) => {
      const quantize = quantizeOptions(flags);
      const build = await buildFirmware({
        model: flags.model, out: flags.out, target: flags.target, golden: intOption('--golden', flags.golden, '4', 1), maxnm: flags.maxnm,
        ...(quantize ? { quantize } : {}),
        ...(flags.tail !== undefined ? { tail: intOption('--tail', flags.tail, '2', 1) } : {}),
      });
      if (flags.json) printJson(build);
      else process.stdout.write(formatBuild(build, flags.out));
    }));
  mcu
    .command('run')
    .description('run a built image on QEMU (mps2-an500, Cortex-M7) with semihosting: check its outputs against the golden ones, count instructions per inference and per layer')
    .argument('<dir>', 'the --out directory of mam mcu build')
    .option('--json', 'print one JSON object')
    .action(action(async (dir: string, flags: { json?: boolean }) => {
      const r = await runFirmware(dir);
      const means = meanInstructions(r);
      const perLayer = r.build.layers.map((name, i) => ({ layer: name, instructions: means.layers[i]! }));
      const summary = {
        windows: r.instructions.length, instructions_per_inference: means.inference, layers: perLayer,
        precision: r.build.precision, outputs_identical: r.identical, within_tolerance: r.withinTolerance, worst_relative_error: r.worstRelativeError, note: CAVEAT,
      };
      if (flags.json) printJson(summary);
      else {
        process.stdout.write([
          `${dir}: ${summary.windows} golden windows on QEMU mps2-an500 (Cortex-M7)`,
          `outputs: ${r.identical ? `identical to the ${r.build.precision === 'int8' ? 'integer reference\'s' : 'model\'s'}, bit for bit` : r.withinTolerance ? `within ${r.worstRelativeError.toExponential(2)} of the model's` : `WRONG: off by ${r.worstRelativeError.toExponential(2)}`}`,
          `instructions per inference: ${summary.instructions_per_inference}`,
          ...formatTable([{ width: 14 }, { align: 'right', width: 10 }], perLayer.map((l) => [l.layer, String(l.instructions)]), { indent: '  ' }),
          `(${CAVEAT})`,
        ].join('\n') + '\n');
      }
      if (!r.withinTolerance) process.exitCode = 1;
    }));
}

function formatBuild(b: FirmwareBuild, dir: string): string {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  return [
    `${dir}/firmware.elf${b.precision === 'int8' ? ' (int8)' : ''}: ${b.layers.join(', ')}${b.maxnm && b.precision !== 'int8' ? ' (-DMAM_MAXNM)' : ''}`,
    `sections (arm-none-eabi-size): text ${b.sections.text}, rodata ${b.sections.rodata}, data ${b.sections.data}, bss ${b.sections.bss} bytes`,
    `flash (text + rodata + data): ${b.flashBytes} bytes (${kb(b.flashBytes)} of ${kb(b.target.flashBytes)}); RAM (data + bss + ${STACK_BYTES / 1024} KB stack): ${b.ramBytes} bytes (${kb(b.ramBytes)} of ${kb(b.target.ramBytes)})`,
    `${b.fits ? 'fits' : 'does NOT fit'} the ${b.target.name} (the image includes ${b.goldenCount} golden windows, ${b.goldenBytes} bytes of rodata, and newlib's semihosting I/O)`,
  ].join('\n') + '\n';
}
