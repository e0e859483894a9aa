// `mam mcu build` and `mam mcu run`: the exported network in a bare-metal Cortex-M7 image,
// cross-compiled with arm-none-eabi-gcc, its real section sizes against a target's flash and
// RAM; then run on QEMU's mps2-an500 with semihosting, its outputs checked against the golden
// ones, and the instructions each inference (and each layer) executed counted by QEMU.
// An emulator's instruction count is not a cycle count on the real chip (no caches, no
// pipeline, no flash wait states): it compares networks, it does not time them.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { entriesToReplace, someNames, writeDirAtomically, writeFailure } from '../io/atomic.js';
import { withOutputLock } from '../io/lock.js';
import { MamError, msg } from '../errors.js';
import { findTarget, type Target } from '../export/footprint.js';
import { C_HEADER, C_SOURCE, C_TOLERANCE, renderExport, type RenderedExport } from '../export/session.js';
import type { QuantizeRequest } from '../quantize/model.js';
import type { Precision } from '../export/storage.js';
import { BOARD_BYTES, INSTRUCTIONS_PER_TICK, LINK_LD, mainC, PROFILE_H, STACK_BYTES, STARTUP_C } from './firmware.js';

export const ELF = 'firmware.elf';
export const BUILD_JSON = 'build.json';
/** What a build directory holds: the export, the harness, the image and its record, and the tests' host build. */
const BUILD_FILES = [C_HEADER, C_SOURCE, 'startup.c', 'link.ld', 'profile.h', 'main.c', ELF, BUILD_JSON, 'host-check'];
const GCC = 'arm-none-eabi-gcc';
const SIZE = 'arm-none-eabi-size';
const QEMU = 'qemu-system-arm';
export const CPU_FLAGS = ['-mcpu=cortex-m7', '-mfpu=fpv5-d16', '-mfloat-abi=hard', '-mthumb'];
const RDIMON = '/usr/lib/arm-none-eabi/lib/rdimon.specs';
const INSTALL = 'install them with scripts/install-mcu-tools.sh (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)';

export interface Sections { text: number; rodata: number; data: number; bss: number }

export interface FirmwareBuild {
  model: string;
  tail: number | null;
  /** float32, or int8 (then the outputs must equal the integer reference's bit for bit). */
  precision: Precision;
  target: Target;
  layers: string[];
  sections: Sections;
  /** text + rodata + data (what goes in flash), and data + bss + the stack (what needs RAM). */
  flashBytes: number;
  ramBytes: number;
  fits: boolean;
  goldenCount: number;
  /** Built with -DMAM_MAXNM (VMAXNM/VMINNM for the MAM max and min), as by default. */
  maxnm: boolean;
  /** Bytes of the golden windows in rodata (a firmware without them is that much smaller). */
  goldenBytes: number;
  /** Golden outputs as float32 bits (hex), window after window. */
  goldenOutBits: string[];
  outputSize: number;
}

function tool(name: string): boolean {
  return spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0;
}

/** arm-none-eabi-size -A: sizes of the sections, grouped as text, rodata, data, bss. */
export function parseSections(sysv: string): Sections {
  const s: Sections = { text: 0, rodata: 0, data: 0, bss: 0 };
  for (const line of sysv.split('\n')) {
    const m = /^(\.\S+)\s+(\d+)\s+\d+/.exec(line.trim());
    if (!m) continue;
    const [, name, size] = m as unknown as [string, string, string];
    if (['.text', '.isr_vector', '.ARM.exidx', '.ARM.extab', '.preinit_array', '.init_array', '.fini_array'].includes(name)) s.text += Number(size);
    else if (name === '.rodata') s.rodata += Number(size);
    else if (name === '.data') s.data += Number(size);
    else if (name === '.bss') s.bss += Number(size);
  }
  return s;
}

function bits(values: Float32Array): string[] {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Array.from(u, (v) => v.toString(16).padStart(8, '0'));
}

export interface BuildRequest {
  model: string;
  out: string;
  tail?: number;
  target?: string;
  golden?: number;
  /** The int8 network instead of the float one. */
  quantize?: QuantizeRequest;
  /** -DMAM_MAXNM: VMAXNM/VMINNM for the MAM max and min (default true; the outputs are the same bits but for NaN products). */
  maxnm?: boolean;
}

/**
 * Builds the firmware image for `request.model` into the directory `request.out`: the C export,
 * the startup code, linker script and main, compiled and sized in a fresh directory that is then
 * swapped in whole, so `out` never holds an image beside the sources of another export (or a
 * failed build's leftovers). An existing `out` is replaced only if it is empty or a mam mcu build.
 */
export async function buildFirmware(request: BuildRequest): Promise<FirmwareBuild> {
  const target = findTarget(request.target ?? 'stm32f767zi');
  if (!tool(GCC)) throw new MamError(`${GCC} not found: ${INSTALL}`);
  if (!existsSync(RDIMON)) throw new MamError(`newlib for arm-none-eabi (${RDIMON}) not found: ${INSTALL}`);
  const dir = request.out;
  return withOutputLock(dir, async () => {
    // The directory is replaced whole: anything in it that a build did not make would be lost.
    const entries = await entriesToReplace(dir);
    if (entries === 'file' || (entries !== null && entries.length > 0 && !entries.includes(BUILD_JSON))) {
      throw new MamError(`${dir} exists and is not a mam mcu build directory: choose another output directory (mam mcu build writes its own sources there)`, { file: dir });
    }
    const foreign = (entries ?? []).filter((n) => !BUILD_FILES.includes(n));
    if (foreign.length > 0) {
      throw new MamError(`${dir} holds files a build did not make (${someNames(foreign)}): move them out, or build into another directory (mam replaces the whole build directory)`, { file: dir });
    }
    const exported = await renderExport({ model: request.model, format: 'c', tail: request.tail, golden: request.golden ?? 4, quantize: request.quantize });
    let build: FirmwareBuild | undefined;
    await writeDirAtomically(resolve(dir), async (work) => {
      const sources = { ...exported.contents, 'startup.c': STARTUP_C, 'link.ld': LINK_LD, 'profile.h': PROFILE_H, 'main.c': mainC(exported.network.layers.length) };
      for (const [name, text] of Object.entries(sources)) await fs.writeFile(join(work, name), text);
      build = compile(work, dir, request, target, exported);
      await fs.writeFile(join(work, BUILD_JSON), `${JSON.stringify(build, null, 2)}\n`);
    }).catch((e) => { throw writeFailure(dir, e); });
    return build!;
  });
}

/** The MAM max and min as VMAXNM/VMINNM (FPv5): the same outputs, bit for bit, as the strict
 * compares, since a zero's sign never reaches an output (README, Faster float kernels); NaN
 * products aside. */
function maxnmFlags(maxnm: boolean): string[] {
  return maxnm ? ['-DMAM_MAXNM'] : [];
}

/** Compiles and sizes the sources in `work` (to be published as `dir`, the name errors give). */
function compile(work: string, dir: string, request: BuildRequest, target: Target, exported: RenderedExport): FirmwareBuild {
  const layers = exported.network.layers;
  const args = [
    ...CPU_FLAGS, '-O2', '-std=c99', '-ffp-contract=off', '-Wall', '-Wextra', '-Werror', '-DMAM_GOLDEN', ...maxnmFlags(request.maxnm !== false), '-include', join(work, 'profile.h'), '-I', work,
    '--specs=rdimon.specs', '-nostartfiles', '-T', join(work, 'link.ld'),
    join(work, 'startup.c'), join(work, 'main.c'), join(work, C_SOURCE), '-o', join(work, ELF),
  ];
  const cc = spawnSync(GCC, args, { encoding: 'utf8' });
  if (cc.status !== 0) {
    const lines = cc.stderr.split('\n');
    const first = lines.find((l) => /error/.test(l) && !/collect2/.test(l)) ?? lines.find((l) => /error/.test(l)) ?? lines[0];
    throw new MamError(`${GCC} could not build ${join(dir, ELF)}: ${first?.split(work).join(dir)}`);
  }
  const size = spawnSync(SIZE, ['-A', join(work, ELF)], { encoding: 'utf8' });
  if (size.status !== 0) throw new MamError(`${SIZE} failed on ${join(dir, ELF)}: ${size.stderr.trim()}`);
  const sections = parseSections(size.stdout);
  const flashBytes = sections.text + sections.rodata + sections.data;
  const ramBytes = sections.data + sections.bss + STACK_BYTES;
  return {
    model: request.model,
    tail: request.tail ?? null,
    precision: exported.c!.precision,
    target,
    layers: layers.map((l) => `${l.name} ${l.kind}`),
    sections,
    flashBytes,
    ramBytes,
    fits: flashBytes <= target.flashBytes && ramBytes <= target.ramBytes,
    goldenCount: exported.golden!.goldenIn.length / layers[0]!.inputSize,
    maxnm: request.maxnm !== false,
    // int8: also the golden inputs and outputs in int8.
    goldenBytes: (exported.c!.precision === 'int8' ? 5 : 4) * (exported.golden!.goldenIn.length + exported.golden!.goldenOut.length),
    goldenOutBits: bits(exported.golden!.goldenOut),
    outputSize: layers.at(-1)!.outputSize,
  };
}

export interface FirmwareRun {
  build: FirmwareBuild;
  /** Per golden window: instructions for the whole inference and per layer. */
  instructions: number[];
  layerInstructions: number[][];
  /** Outputs as float32 bits, window after window. */
  outputBits: string[];
  /** Outputs bit for bit the golden ones (the tfjs model's, or int8: the integer reference's)? Else within C_TOLERANCE? */
  identical: boolean;
  /** float32: within C_TOLERANCE of tfjs; int8: identical (nothing less will do). */
  withinTolerance: boolean;
  worstRelativeError: number;
}

function fromBits(hex: string): number {
  return new Float32Array(Uint32Array.of(parseInt(hex, 16)).buffer)[0]!;
}

/** Instructions per inference and per layer, each the mean over the golden windows (rounded). */
export function meanInstructions(run: Pick<FirmwareRun, 'instructions' | 'layerInstructions'>): { inference: number; layers: number[] } {
  const mean = (v: number[]) => Math.round(v.reduce((a, b) => a + b, 0) / v.length);
  const layers = run.layerInstructions[0]?.map((_, i) => mean(run.layerInstructions.map((l) => l[i]!))) ?? [];
  return { inference: mean(run.instructions), layers };
}

/** Runs a built image on QEMU (mps2-an500, instruction counting on) and checks its outputs. */
export async function runFirmware(dir: string, timeoutMs = 300_000): Promise<FirmwareRun> {
  const buildPath = join(dir, BUILD_JSON);
  if (!existsSync(buildPath) || !existsSync(join(dir, ELF))) {
    throw new MamError(`${dir}: no ${ELF} and ${BUILD_JSON}: build the firmware into it first (mam mcu build)`);
  }
  if (!tool(QEMU)) throw new MamError(`${QEMU} not found: ${INSTALL}`);
  let build: FirmwareBuild;
  try {
    build = JSON.parse(await fs.readFile(buildPath, 'utf8')) as FirmwareBuild;
  } catch (e) {
    throw new MamError(`${buildPath}: not valid JSON (${(e as Error).message}): build it again with mam mcu build`, { file: buildPath });
  }
  if (build.flashBytes > BOARD_BYTES || build.ramBytes > BOARD_BYTES) {
    throw new MamError(msg`${join(dir, ELF)} needs ${build.flashBytes} bytes of flash and ${build.ramBytes} of RAM: more than the emulated board's 4 MB each; export a shorter {tail} or prune more`);
  }
  const q = spawnSync(QEMU, ['-M', 'mps2-an500', '-nographic', '-monitor', 'none', '-serial', 'none', '-semihosting-config', 'enable=on,target=native', '-icount', 'shift=0', '-kernel', join(dir, ELF)],
    { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (q.error || q.status !== 0 || !/^done$/m.test(q.stdout)) {
    const why = q.error && (q.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `timed out after ${timeoutMs / 1000} s`
      : q.error ? q.error.message : q.status === 70 ? 'the program faulted' : `exit ${q.status}`;
    throw new MamError(`${QEMU} did not finish ${join(dir, ELF)} (${why}): ${q.stderr.trim().split('\n')[0] || 'no message'}`);
  }
  // The instruction counts rest on QEMU's clock: check it on the calibration loop first.
  const cal = /^calibration (\d+) ticks (\d+)$/m.exec(q.stdout);
  if (!cal || Math.abs(Number(cal[2]) * INSTRUCTIONS_PER_TICK - Number(cal[1])) > 0.01 * Number(cal[1])) {
    throw new MamError(`${QEMU}: a loop of ${cal?.[1] ?? 200000} instructions took ${cal?.[2] ?? '?'} SysTick ticks, not ${Number(cal?.[1] ?? 200000) / INSTRUCTIONS_PER_TICK}: this QEMU's clock differs, so instruction counts would be wrong`);
  }
  if (/^wrapped /m.test(q.stdout)) {
    throw new MamError(`${join(dir, ELF)}: an inference took more than 2^24 SysTick ticks (671 M instructions); the count is unknown`);
  }
  const instructions: number[] = [];
  const layerInstructions: number[][] = [];
  const outputBits: string[] = [];
  for (const line of q.stdout.split('\n')) {
    const t = /^golden (\d+) ticks (\d+) layers((?: \d+)+)$/.exec(line.trim());
    if (t) {
      instructions.push(Number(t[2]) * INSTRUCTIONS_PER_TICK);
      layerInstructions.push(t[3]!.trim().split(' ').map((v) => Number(v) * INSTRUCTIONS_PER_TICK));
    }
    const o = /^out \d+ (.*)$/.exec(line.trim());
    if (o) outputBits.push(...o[1]!.split(' '));
  }
  if (outputBits.length !== build.goldenOutBits.length) throw new MamError(`${join(dir, ELF)} printed ${outputBits.length} outputs where ${build.goldenOutBits.length} were expected: rebuild it`);
  let worst = 0;
  for (let g = 0; g < build.goldenCount; g++) {
    const ref = build.goldenOutBits.slice(g * build.outputSize, (g + 1) * build.outputSize).map(fromBits);
    const got = outputBits.slice(g * build.outputSize, (g + 1) * build.outputSize).map(fromBits);
    const scale = Math.max(1, ...ref.map(Math.abs));
    ref.forEach((r, k) => { const e = Math.abs(got[k]! - r) / scale; if (!(e <= worst)) worst = e; });
  }
  const identical = outputBits.every((b, i) => b === build.goldenOutBits[i]);
  return {
    build, instructions, layerInstructions, outputBits, identical,
    withinTolerance: build.precision === 'int8' ? identical : worst <= C_TOLERANCE,
    worstRelativeError: worst,
  };
}

/**
 * The same main.c built for this machine (no SysTick), with the build's -DMAM_MAXNM unless
 * `maxnm` says otherwise: its outputs, as float32 bits. For tests.
 */
export function hostOutputs(dir: string, cc = process.env.CC || 'cc', maxnm?: boolean): string[] {
  const exe = join(dir, 'host-check');
  const built = maxnm ?? (JSON.parse(readFileSync(join(dir, BUILD_JSON), 'utf8')) as Partial<FirmwareBuild>).maxnm === true;
  const b = spawnSync(cc, ['-std=c99', '-O2', '-ffp-contract=off', '-DMAM_GOLDEN', '-DMAM_HOST', ...maxnmFlags(built), '-include', join(dir, 'profile.h'), '-I', dir, join(dir, 'main.c'), join(dir, C_SOURCE), '-o', exe, '-lm'], { encoding: 'utf8' });
  if (b.status !== 0) throw new MamError(`${cc} could not build the host check: ${b.stderr.trim().split('\n')[0]}`);
  const r = spawnSync(exe, [], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new MamError(`the host check ${exe} exited with ${r.status}`);
  return r.stdout.split('\n').filter((l) => l.startsWith('out ')).flatMap((l) => l.split(' ').slice(2));
}
