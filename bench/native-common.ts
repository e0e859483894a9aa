// What the benches rebuild of bench/native/bench_common.h, so that the native references and
// our kernels are fed the same inputs and their outputs compared by the same checksum.

/** The LCG of bench_common.h: each call the next float32 in [-1, 1) (the mapping is exact). */
export function lcgFloats(seed = 12345): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s >>> 8) / 16777216) * 2 - 1;
  };
}

export const FNV_BASIS = 2166136261;

/** FNV-1a over the array's 32-bit words, continuing from h, as fnv1a() in bench_common.h. */
export function fnv1a(h: number, a: Float32Array | Int32Array): number {
  const words = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 16777619) >>> 0;
  return h;
}

/** A checksum as the native programs print it: 8 hex digits. */
export const hex8 = (h: number): string => h.toString(16).padStart(8, '0');
