/**
 * An in-memory data set: n samples of a fixed per-sample shape, row-major float32, already in
 * the model's coordinates. `normalization` maps them back to the user's coordinates:
 * raw = mean + std * x, per coordinate (arrays of length D) or for all coordinates (length 1).
 */
export interface Normalization {
  mean: number[];
  std: number[];
}

export interface Dataset {
  /** 'moons', 'mnist', or the CSV file's path. */
  name: string;
  n: number;
  /** Per-sample shape: [D] for vectors, [H, W, C] for images. */
  shape: number[];
  /** n * prod(shape) values, sample after sample. */
  x: Float32Array;
  normalization: Normalization;
  /** Optional integer class labels, one per sample. */
  labels?: Int32Array;
  /** Number of classes when the source fixes it (mnist: 10); else the labels' maximum + 1. */
  numClasses?: number;
}

/** Number of values per sample. */
export function sampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The normalization that leaves data as it is: mean 0, std 1 (x' = x). */
export function identityNormalization(): Normalization {
  return { mean: [0], std: [1] };
}

function coord(values: number[], j: number): number {
  return values.length === 1 ? values[0] : values[j];
}

function checkNormalization(norm: Normalization, d: number): void {
  for (const v of [norm.mean, norm.std]) {
    if (v.length !== 1 && v.length !== d) throw new Error(`normalization has ${v.length} values, expected 1 or ${d}`);
  }
}

/** raw = mean + std * x, into a new array; `x` holds samples of `d` values. */
export function denormalize(x: Float32Array, norm: Normalization, d: number): Float32Array {
  checkNormalization(norm, d);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % d;
    out[i] = coord(norm.mean, j) + coord(norm.std, j) * x[i];
  }
  return out;
}

/** x = (raw - mean) / std, into a new array. */
export function normalize(raw: ArrayLike<number>, norm: Normalization, d: number): Float32Array {
  checkNormalization(norm, d);
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const j = i % d;
    out[i] = (raw[i] - coord(norm.mean, j)) / coord(norm.std, j);
  }
  return out;
}

/**
 * Per-coordinate mean and standard deviation of n samples of d values (float64 accumulation);
 * a coordinate that does not vary gets std 1, so it is only centred.
 */
export function fitNormalization(x: ArrayLike<number>, n: number, d: number): Normalization {
  const mean = new Array<number>(d).fill(0);
  const m2 = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      // Welford's update, stable for large offsets.
      const v = x[i * d + j];
      const delta = v - mean[j];
      mean[j] += delta / (i + 1);
      m2[j] += delta * (v - mean[j]);
    }
  }
  const std = m2.map((s) => {
    const sd = Math.sqrt(s / Math.max(n, 1));
    return sd > 0 && Number.isFinite(sd) ? sd : 1;
  });
  return { mean, std };
}

/**
 * The data set rescaled to zero mean and unit variance per coordinate (fitted on its own
 * values); the returned normalization maps model coordinates back to the raw ones.
 */
export function standardize(ds: Dataset): Dataset {
  const d = sampleSize(ds.shape);
  const raw = denormalize(ds.x, ds.normalization, d);
  const normalization = fitNormalization(raw, ds.n, d);
  return { ...ds, x: normalize(raw, normalization, d), normalization };
}
