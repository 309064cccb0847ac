/**
 * The one seeded generator of sde, for every host-side draw (batch indices, times, noise,
 * projection directions, subsets): sfc32, seeded through splitmix32, with seeds derived by
 * mixSeed. The same seed gives the same stream on every machine and backend; no Math.random
 * anywhere in src.
 */

/** splitmix32 step: a well-mixed 32-bit hash of a 32-bit state. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds any finite number (integers beyond 2^32, negatives, fractions) into 32 bits. */
function toUint32(x: number): number {
  if (!Number.isFinite(x)) throw new Error(`seed must be a finite number, got ${x}`);
  const hi = Math.floor(x / 4294967296);
  const lo = x - hi * 4294967296;
  const frac = Math.round((lo - Math.floor(lo)) * 4294967296);
  return (Math.floor(lo) ^ Math.imul(hi | 0, 0x27d4eb2d) ^ Math.imul(frac | 0, 0x165667b1)) >>> 0;
}

/**
 * Derives a 32-bit seed from a base seed and any number of integers (a step, a stream id, a
 * stage), so per-step randomness can be recomputed exactly on resume: a splitmix32 chain.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x6a09e667;
  for (const p of parts) h = splitmix32(h ^ splitmix32(toUint32(p)));
  return h;
}

/** A seeded stream of uniform, integer and normal draws (sfc32; the seed goes through mixSeed). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  constructor(seed: number) {
    let s = mixSeed(seed);
    this.a = s = splitmix32(s);
    this.b = s = splitmix32(s);
    this.c = s = splitmix32(s);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in {0, ..., n - 1}, unbiased (n < 2^32). */
  int(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= 4294967296)) throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let r: number;
    do r = this.nextUint32();
    while (r >= limit);
    return r % n;
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const [z0, z1] = this.normalPair();
    this.spare = z1;
    return z0;
  }

  /** Two independent standard normals by the Box-Muller transform: sqrt(-2 log u) (cos, sin)(2 pi v). */
  private normalPair(): [number, number] {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    return [r * Math.cos(2 * Math.PI * v), r * Math.sin(2 * Math.PI * v)];
  }

  /** Fills `out` with standard normals (or N(mean, std^2)): the values successive normal() calls give. */
  fillNormal<A extends Float32Array | Float64Array>(out: A, mean = 0, std = 1): A {
    let i = 0;
    if (this.spare !== undefined && out.length > 0) out[i++] = mean + std * this.normal();
    for (; i + 1 < out.length; i += 2) {
      const [z0, z1] = this.normalPair();
      out[i] = mean + std * z0;
      out[i + 1] = mean + std * z1;
    }
    if (i < out.length) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fills `out` with uniforms in [lo, hi). */
  fillUniform<A extends Float32Array | Float64Array>(out: A, lo = 0, hi = 1): A {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }

  /** `count` integers uniform in {0, ..., n - 1}. */
  ints(count: number, n: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.int(n);
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p;
  }
}

/** The uniform draws on [0, 1) of new Rng(seed), as a function. */
export function uniformRng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** The standard normal draws of new Rng(seed), as a function. */
export function normalRng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.normal();
}

/** n standard normal draws of new Rng(seed) as float32 (the same numbers on every backend). */
export function normalArray(n: number, seed: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n));
}
