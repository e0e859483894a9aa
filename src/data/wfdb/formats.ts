// The WFDB binary signal formats: how many samples a number of bytes holds, and the bytes that
// hold them, as stored integers (MAM.md section 11). The packed formats group samples: 212 two
// in 3 bytes, 310 and 311 three in 4 bytes; a file may end inside a group (an odd sample count),
// and then holds only the samples whose bits are all there. Format 8 stores first differences;
// they are decoded here as differences, and summed per signal by the reader.
import type { WfdbFormat } from './header.js';

/** Bytes per group of samples, and samples per group. A read starting at a group boundary decodes whole groups. */
const GROUP: Record<WfdbFormat, { bytes: number; samples: number }> = {
  8: { bytes: 1, samples: 1 }, 80: { bytes: 1, samples: 1 },
  16: { bytes: 2, samples: 1 }, 61: { bytes: 2, samples: 1 }, 160: { bytes: 2, samples: 1 },
  24: { bytes: 3, samples: 1 }, 32: { bytes: 4, samples: 1 },
  212: { bytes: 3, samples: 2 }, 310: { bytes: 4, samples: 3 }, 311: { bytes: 4, samples: 3 },
};

/** In a partial last group of k bytes: how many samples are whole (index k). */
const PARTIAL: Partial<Record<WfdbFormat, number[]>> = {
  212: [0, 0, 1],
  310: [0, 0, 1, 1], // the second sample is in the second 16-bit word
  311: [0, 0, 1, 2], // bits 0-9, then 10-19
};

/**
 * The stored value WFDB writes for "no sample here" (a gap, a lead off): the format's most
 * negative value (WFDB_INVALID_SAMPLE, as wfdb-python reads it); format 8 has none.
 */
export const INVALID_SAMPLE: Record<WfdbFormat, number | undefined> = {
  8: undefined, 80: -128, 16: -32768, 61: -32768, 160: -32768, 24: -8388608, 32: -2147483648, 212: -2048, 310: -512, 311: -512,
};

/** A multiple of every group size (12 bytes): chunks of a multiple of it start at group boundaries. */
export const GROUP_ALIGN = 12;

export function samplesIn(format: WfdbFormat, bytes: number): number {
  const g = GROUP[format];
  const whole = Math.floor(bytes / g.bytes) * g.samples;
  return whole + (PARTIAL[format]?.[bytes % g.bytes] ?? 0);
}

/** The bytes that `samples` samples take (the last group partly, for the packed formats). */
export function bytesFor(format: WfdbFormat, samples: number): number {
  const g = GROUP[format];
  const groups = Math.floor(samples / g.samples);
  const left = samples % g.samples;
  if (left === 0) return groups * g.bytes;
  return groups * g.bytes + PARTIAL[format]!.indexOf(left);
}

/**
 * Decodes the samples in bytes[0, length) (which starts at a group boundary) into out[0...];
 * returns how many. Format 8 yields the differences.
 */
export function decodeSamples(format: WfdbFormat, b: Uint8Array, length: number, out: Int32Array): number {
  const n = samplesIn(format, length);
  switch (format) {
    case 8:
      for (let i = 0; i < n; i++) out[i] = (b[i]! << 24) >> 24;
      break;
    case 80:
      for (let i = 0; i < n; i++) out[i] = b[i]! - 128;
      break;
    case 16:
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = ((b[j]! | (b[j + 1]! << 8)) << 16) >> 16;
      break;
    case 61:
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = (((b[j]! << 8) | b[j + 1]!) << 16) >> 16;
      break;
    case 160:
      for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = (b[j]! | (b[j + 1]! << 8)) - 32768;
      break;
    case 24:
      for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = ((b[j]! | (b[j + 1]! << 8) | (b[j + 2]! << 16)) << 8) >> 8;
      break;
    case 32:
      for (let i = 0, j = 0; i < n; i++, j += 4) out[i] = b[j]! | (b[j + 1]! << 8) | (b[j + 2]! << 16) | (b[j + 3]! << 24);
      break;
    case 212:
      // byte 0: low 8 bits of sample 0; byte 1: high 4 bits of sample 0 (low nibble) and of sample 1 (high nibble); byte 2: low 8 bits of sample 1.
      for (let i = 0, j = 0; i < n; i += 2, j += 3) {
        const mid = b[j + 1]!;
        out[i] = ((b[j]! | ((mid & 0x0f) << 8)) << 20) >> 20;
        if (i + 1 < n) out[i + 1] = ((b[j + 2]! | ((mid & 0xf0) << 4)) << 20) >> 20;
      }
      break;
    case 310:
      // Two little-endian 16-bit words: bits 1-10 of each are samples 0 and 1; sample 2 is bits
      // 11-15 of the first word (its low 5 bits) and of the second (its high 5 bits).
      for (let i = 0, j = 0; i < n; i += 3, j += 4) {
        const w0 = b[j]! | (b[j + 1]! << 8);
        out[i] = (((w0 >> 1) & 0x3ff) << 22) >> 22;
        if (i + 1 < n) {
          const w1 = b[j + 2]! | (b[j + 3]! << 8);
          out[i + 1] = (((w1 >> 1) & 0x3ff) << 22) >> 22;
          if (i + 2 < n) out[i + 2] = ((((w0 >> 11) & 0x1f) | (((w1 >> 11) & 0x1f) << 5)) << 22) >> 22;
        }
      }
      break;
    case 311:
      // One little-endian 32-bit word: samples in bits 0-9, 10-19 and 20-29.
      for (let i = 0, j = 0; i < n; i += 3, j += 4) {
        const w = b[j]! | (b[j + 1]! << 8) | ((b[j + 2] ?? 0) << 16) | ((b[j + 3] ?? 0) << 24);
        out[i] = ((w & 0x3ff) << 22) >> 22;
        if (i + 1 < n) out[i + 1] = (((w >> 10) & 0x3ff) << 22) >> 22;
        if (i + 2 < n) out[i + 2] = (((w >> 20) & 0x3ff) << 22) >> 22;
      }
      break;
  }
  return n;
}
