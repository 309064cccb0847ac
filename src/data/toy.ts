import { UsageError } from '../errors.js';
import type { Dataset, Normalization } from './dataset.js';
import { Rng } from '../random.js';

/** Names of the built-in 2-D sets. */
export const TOY_DATASETS = ['moons', 'swissroll', '8gaussians', 'checkerboard', 'rings'] as const;
export type ToyName = (typeof TOY_DATASETS)[number];

/** True when `value` names a built-in 2-D data set (TOY_DATASETS). */
export function isToyName(value: string): value is ToyName {
  return (TOY_DATASETS as readonly string[]).includes(value);
}

/** Checks a built-in set's name. */
export function parseToyName(value: string, flag = '--data'): ToyName {
  if (isToyName(value)) return value;
  throw new UsageError(`${flag}: unknown data set '${value}', expected one of ${TOY_DATASETS.join(', ')}, mnist or a .csv file`);
}

/*
 * Raw generators (one point per call, in the set's natural coordinates), after the usual
 * definitions (scikit-learn, FFJORD):
 * - moons: theta ~ U[0, pi]; upper moon (cos, sin), lower moon (1 - cos, 1/2 - sin), each with
 *   probability 1/2; noise N(0, 0.1^2 I).
 * - swissroll: s = 1.5 pi (1 + 2u), u ~ U[0, 1]; (s cos s, s sin s) + N(0, 0.5^2 I).
 * - 8gaussians: centres 4 (cos k pi/4, sin k pi/4), k uniform in 0..7; std 0.5.
 * - checkerboard: uniform on the 8 squares (c, r) of [-2, 2]^2 with c + r even.
 * - rings: radius k in {1, 2, 3, 4} uniform, angle uniform, noise N(0, 0.1^2 I).
 */
const MOONS_NOISE = 0.1;
const SWISS_NOISE = 0.5;
const GAUSS8_RADIUS = 4;
const GAUSS8_STD = 0.5;
const RINGS_NOISE = 0.1;

type Point = [number, number];

const generators: Record<ToyName, (rng: Rng) => Point> = {
  moons(rng) {
    const theta = Math.PI * rng.next();
    const upper = rng.next() < 0.5;
    const x = upper ? Math.cos(theta) : 1 - Math.cos(theta);
    const y = upper ? Math.sin(theta) : 0.5 - Math.sin(theta);
    return [x + MOONS_NOISE * rng.normal(), y + MOONS_NOISE * rng.normal()];
  },
  swissroll(rng) {
    const s = 1.5 * Math.PI * (1 + 2 * rng.next());
    return [s * Math.cos(s) + SWISS_NOISE * rng.normal(), s * Math.sin(s) + SWISS_NOISE * rng.normal()];
  },
  '8gaussians'(rng) {
    const k = rng.int(8);
    const a = (k * Math.PI) / 4;
    return [GAUSS8_RADIUS * Math.cos(a) + GAUSS8_STD * rng.normal(), GAUSS8_RADIUS * Math.sin(a) + GAUSS8_STD * rng.normal()];
  },
  checkerboard(rng) {
    const x = -2 + 4 * rng.next();
    const col = Math.min(Math.floor(x), 1);
    // Rows with col + row even: {-2, 0} for an even column, {-1, 1} for an odd one.
    const row = (Math.abs(col) % 2 === 0 ? -2 : -1) + 2 * rng.int(2);
    return [x, row + rng.next()];
  },
  rings(rng) {
    const r = 1 + rng.int(4);
    const a = 2 * Math.PI * rng.next();
    return [r * Math.cos(a) + RINGS_NOISE * rng.normal(), r * Math.sin(a) + RINGS_NOISE * rng.normal()];
  },
};

/** E[f(s)] for s ~ U[a, b], composite Simpson in float64 (smooth f: error far below 1e-12). */
function uniformMean(f: (s: number) => number, a: number, b: number, intervals = 20000): number {
  const h = (b - a) / intervals;
  let sum = f(a) + f(b);
  for (let i = 1; i < intervals; i++) sum += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3 / (b - a);
}

function swissrollMoments(): Normalization {
  const a = 1.5 * Math.PI;
  const b = 4.5 * Math.PI;
  const mx = uniformMean((s) => s * Math.cos(s), a, b);
  const my = uniformMean((s) => s * Math.sin(s), a, b);
  const vx = uniformMean((s) => (s * Math.cos(s)) ** 2, a, b) - mx * mx + SWISS_NOISE ** 2;
  const vy = uniformMean((s) => (s * Math.sin(s)) ** 2, a, b) - my * my + SWISS_NOISE ** 2;
  return { mean: [mx, my], std: [Math.sqrt(vx), Math.sqrt(vy)] };
}

/**
 * The exact mean and standard deviation of each set's generating distribution, per coordinate
 * (closed forms; the swiss roll by quadrature). Samples are standardized with these, so every
 * seed and size shares one map; raw = mean + std * x undoes it.
 */
export const TOY_STANDARDIZATION: Record<ToyName, Normalization> = {
  moons: {
    mean: [0.5, 0.25],
    std: [Math.sqrt(0.75 + MOONS_NOISE ** 2), Math.sqrt(0.5625 - 1 / Math.PI + MOONS_NOISE ** 2)],
  },
  swissroll: swissrollMoments(),
  '8gaussians': {
    mean: [0, 0],
    std: [Math.sqrt(GAUSS8_RADIUS ** 2 / 2 + GAUSS8_STD ** 2), Math.sqrt(GAUSS8_RADIUS ** 2 / 2 + GAUSS8_STD ** 2)],
  },
  checkerboard: { mean: [0, 0], std: [Math.sqrt(4 / 3), Math.sqrt(4 / 3)] },
  rings: {
    mean: [0, 0],
    std: [Math.sqrt(30 / 8 + RINGS_NOISE ** 2), Math.sqrt(30 / 8 + RINGS_NOISE ** 2)],
  },
};

/** n raw points (natural coordinates) of a built-in set, seeded. */
export function toyRaw(name: ToyName, n: number, seed: number): Float32Array {
  if (!(Number.isInteger(n) && n >= 1)) throw new UsageError(`--n: expected a positive integer number of points, got ${n}`);
  const rng = new Rng(seed);
  const gen = generators[name];
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [x, y] = gen(rng);
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
  return out;
}

/** n standardized points of a built-in set (seeded); its normalization maps them back. */
export function toyDataset(name: ToyName, n: number, seed: number): Dataset {
  const norm = TOY_STANDARDIZATION[name];
  const raw = toyRaw(name, n, seed);
  const x = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const j = i % 2;
    x[i] = (raw[i] - norm.mean[j]) / norm.std[j];
  }
  return { name, n, shape: [2], x, normalization: { mean: [...norm.mean], std: [...norm.std] } };
}
