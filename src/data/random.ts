// Seeded pseudo-random numbers for everything that must repeat: synthetic ECG, noise,
// shuffles. Plain 32-bit integer arithmetic, so the same seed gives the same numbers on every
// machine and Node version (Math.random cannot be seeded).

export interface Random {
  /** uniform in [0, 1) */
  uniform(): number;
  /** standard normal (Box-Muller) */
  normal(): number;
  /** whole number uniform in [0, n) */
  int(n: number): number;
}

/** mulberry32: small, fast, and good enough for data generation and shuffles. */
export function seededRandom(seed: number): Random {
  if (!Number.isInteger(seed)) throw new RangeError(`a seed must be a whole number, got ${seed}`);
  let a = seed >>> 0;
  let spare: number | null = null;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal(): number {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = uniform(); // log(0) guard
      const r = Math.sqrt(-2 * Math.log(u));
      const phi = 2 * Math.PI * uniform();
      spare = r * Math.sin(phi);
      return r * Math.cos(phi);
    },
    int(n: number): number {
      return Math.floor(uniform() * n);
    },
  };
}

/** Fisher-Yates shuffle in place, driven by `random`. */
export function shuffleInPlace<T>(items: T[] | Int32Array, random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
}
