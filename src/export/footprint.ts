// The memory bill of an exported network before anything is flashed: per layer its parameters,
// non-zeros, the bytes of each way to store the kernel (dense, CSR, bitmap; the C export's
// choice marked) and the arithmetic of one inference; in all, flash (weights and biases) and RAM
// (the activation arena plus the input and output buffers), against a target's budget. Pure.
import { msg, RequestError, setting } from '../errors.js';
import { arenaSize, bytesPerWeight, layerStorage, storedBytes, type Precision, type Storage } from './storage.js';
import { kept, type ExportNetwork } from './network.js';

export interface Target {
  name: string;
  core: string;
  flashBytes: number;
  ramBytes: number;
}

const KB = 1024;

/** Common Cortex-M parts, by the names findTarget takes. Flash and RAM from their datasheets. */
export const TARGETS: Record<string, Target> = {
  stm32f767zi: { name: 'STM32F767ZI', core: 'Cortex-M7, 216 MHz', flashBytes: 2048 * KB, ramBytes: 512 * KB },
  stm32h743zi: { name: 'STM32H743ZI', core: 'Cortex-M7, 480 MHz', flashBytes: 2048 * KB, ramBytes: 1024 * KB },
  stm32f446re: { name: 'STM32F446RE', core: 'Cortex-M4, 180 MHz', flashBytes: 512 * KB, ramBytes: 128 * KB },
  stm32l476rg: { name: 'STM32L476RG', core: 'Cortex-M4, 80 MHz', flashBytes: 1024 * KB, ramBytes: 128 * KB },
  stm32f401re: { name: 'STM32F401RE', core: 'Cortex-M4, 84 MHz', flashBytes: 512 * KB, ramBytes: 96 * KB },
  nrf52840: { name: 'nRF52840', core: 'Cortex-M4, 64 MHz', flashBytes: 1024 * KB, ramBytes: 256 * KB },
};

/** A part by its name (any case), or a RequestError naming `field` (the setting it came from) and the known parts. */
export function findTarget(name: string, field = 'target'): Target {
  const target = TARGETS[name.toLowerCase()];
  if (!target) throw new RequestError(msg`${setting(field)} ${name}: unknown part; choose one of ${Object.keys(TARGETS).join(', ')}`);
  return target;
}

export interface LayerFootprint {
  name: string;
  kind: 'mam' | 'mac';
  inputSize: number;
  outputSize: number;
  /** Kernel entries plus biases. */
  parameters: number;
  nonzeros: number;
  sparsity: number;
  storage: { dense: number; csr: number; bitmap: number; chosen: Storage };
  /** Bytes in flash: the chosen kernel storage plus the biases (int8: and the requantisation constants). */
  flashBytes: number;
  /** One inference: MAC: a multiply and an add per kept connection; MAM: a multiply and two compares (max, min) per kept connection, two adds per slice (max + min, then the sum); both: an add per bias. */
  ops: { multiplies: number; adds: number; compares: number };
}

export interface Footprint {
  target: Target;
  precision: Precision;
  layers: LayerFootprint[];
  flash_bytes: number;
  /** float32: 4 x (arena + input + output) floats; int8: the int8 arena and <prefix>_infer's int8 input and output, and the caller's float input and output. */
  ram_bytes: number;
  arena_bytes: number;
  fits: boolean;
  /** What does not fit, when it does not. */
  over: string[];
}

export function footprint(net: ExportNetwork, target: Target, precision: Precision = 'float32'): Footprint {
  const layers = net.layers.map((l): LayerFootprint => {
    const st = layerStorage(l, precision);
    const nnz = kept(l);
    const entries = l.inputSize * l.outputSize;
    const splits = l.kind === 'mam' ? l.splits : 0;
    return {
      name: l.name,
      kind: l.kind,
      inputSize: l.inputSize,
      outputSize: l.outputSize,
      parameters: entries + l.outputSize,
      nonzeros: nnz,
      sparsity: 1 - nnz / entries,
      storage: { dense: st.denseBytes, csr: st.csrBytes, bitmap: bytesPerWeight(precision) * nnz + Math.ceil(entries / 8), chosen: st.storage },
      flashBytes: storedBytes(l, st, precision),
      ops: l.kind === 'mac'
        ? { multiplies: nnz, adds: nnz + l.outputSize, compares: 0 }
        : { multiplies: nnz, adds: 2 * l.outputSize * splits + l.outputSize, compares: 2 * nnz },
    };
  });
  const flash = layers.reduce((n, l) => n + l.flashBytes, 0);
  const io = net.layers[0]!.inputSize + net.layers.at(-1)!.outputSize;
  const arena = precision === 'int8' ? arenaSize(net) + io : 4 * arenaSize(net);
  const ram = arena + 4 * io;
  const over = [
    ...(flash > target.flashBytes ? [`flash ${flash} > ${target.flashBytes} bytes`] : []),
    ...(ram > target.ramBytes ? [`RAM ${ram} > ${target.ramBytes} bytes`] : []),
  ];
  return { target, precision, layers, flash_bytes: flash, ram_bytes: ram, arena_bytes: arena, fits: over.length === 0, over };
}
