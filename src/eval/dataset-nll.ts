import * as tf from '@tensorflow/tfjs';
import { normalize, type Normalization } from '../data/dataset.js';
import { UsageError } from '../errors.js';
import { defaultsOf, OptionError, parseOptions } from '../options/schema.js';
import type { ScoreFn, SDE } from '../sde/types.js';
import { bitsPerDim, dequantize, odeLogLikelihood, offEightBitGrid, type DivergenceMethod, type Probe } from './likelihood.js';
import { NLL_SCHEMA, type NllOptions, type VlbVariance } from './nll-options.js';
import { epsFromScore, variationalBound, type VlbGrid } from './vlb.js';

/** The method names, variances and default batch of datasetNll's options (declared with NLL_SCHEMA). */
export { DEFAULT_NLL_BATCH, NLL_METHODS, VLB_VARIANCES, type NllMethod, type VlbVariance } from './nll-options.js';
/** Seed stride of the dequantization noise between batches: batch b uses seed + 7919 b. */
const DEQUANTIZE_STRIDE = 7919;

/** Rows of data to score, in data coordinates: n * D values, sample after sample, each of the model's sample shape. */
export interface NllData {
  x: ArrayLike<number>;
  /** The model's shape of one sample, e.g. [2] or [28, 28, 1] (D = its product). */
  sampleShape: readonly number[];
}

/**
 * datasetNll's options: NLL_SCHEMA's fields, checked against it (types, ranges and defaults there;
 * `seed` is a base seed: batch b uses seed + b for the probe and the VLB draws, seed + 7919 b for
 * the dequantization noise; with `dequantize` the data's rows must lie on the 256 levels
 * k / 127.5 - 1 of [-1, 1] in model coordinates), and how to read and report the data.
 */
export interface DatasetNllOptions extends NllOptions {
  /** Data to model coordinates, x = (raw - mean) / std (default the identity): adds its log-Jacobian sum_j log std_j. */
  normalization?: Normalization;
  /** What error messages call the data (e.g. its file name; default 'data'). */
  dataName?: string;
  /** Called after each batch with its number (from 1), the number of batches and the points done. */
  onBatch?: (batch: number, batches: number, done: number) => void;
}

interface NllCommon {
  /** Per-point NLL in nats, in data coordinates (model NLL + log-Jacobian). */
  nats: Float64Array;
  /** mean(nats) / D, its standard error s / (sqrt(n) D) (s the sample standard deviation), and bits/dim. */
  natsPerDim: number;
  seNatsPerDim: number;
  bitsPerDim: number;
  /** The normalization's log-Jacobian added to every point (0 when dequantized). */
  logJacobian: number;
  nfe: number;
  n: number;
  dims: number;
  batches: number;
  dequantized: boolean;
}

export interface OdeDatasetNll extends NllCommon {
  method: 'ode';
  eps: number;
  rtol: number;
  atol: number;
  divergence: DivergenceMethod;
  /** The probe, when the divergence is Hutchinson's. */
  probe?: Probe;
  accepted: number;
  rejected: number;
}

export interface VlbDatasetNll extends NllCommon {
  method: 'vlb';
  eps: number;
  steps: number;
  grid: VlbGrid;
  variance: VlbVariance;
  /** Mean per-point terms of the bound divided by D: prior L_T, diffusion sum of KLs, decoder L_0. */
  termsPerDim: { prior: number; diffusion: number; decoder: number };
}

export type DatasetNll = OdeDatasetNll | VlbDatasetNll;

/** NLL_SCHEMA's options checked, with its defaults filled in (hutchinson has none: absent, the divergence is chosen by dimension). */
type NllSettings = Required<Omit<NllOptions, 'hutchinson'>> & Pick<NllOptions, 'hutchinson'>;

/** The schema's fields of `options`, checked (errors name the field's flag, a field it does not declare too), defaults filled in. */
function nllSettings(options: DatasetNllOptions): NllSettings {
  const { normalization: _normalization, dataName: _dataName, onBatch: _onBatch, ...given } = options;
  return { ...defaultsOf(NLL_SCHEMA), ...parseOptions(NLL_SCHEMA, given) } as NllSettings;
}

/**
 * log |d raw / d x| = sum_{j<D} log std_j of raw = mean + std x (std of length 1: D log std_0):
 * added to a model-coordinate NLL it gives the data-coordinate NLL, -log p_raw(raw) = -log p_x(x) + sum_j log std_j.
 */
export function normalizationLogJacobian(norm: Normalization, D: number): number {
  let s = 0;
  for (let j = 0; j < D; j++) s += Math.log(norm.std.length === 1 ? norm.std[0] : norm.std[j]);
  return s;
}

/** The sample mean m = sum_i v_i / n and its standard error sqrt(sum_i (v_i - m)^2 / ((n - 1) n)) (0 for n = 1). */
export function meanAndStandardError(values: ArrayLike<number>): { mean: number; se: number } {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;
  return { mean, se: Math.sqrt((n > 1 ? sq / (n - 1) : 0) / n) };
}

/** The data in model coordinates, checked: whole rows of D values, and on the 8-bit levels when dequantized. */
function modelCoordinates(data: NllData, D: number, options: DatasetNllOptions, dequantized: boolean): Float32Array {
  const name = options.dataName ?? 'data';
  if (data.x.length === 0 || data.x.length % D !== 0) throw new UsageError(`${name}: ${data.x.length} values are not whole rows of the model's ${D} values`);
  const x = normalize(data.x, options.normalization ?? { mean: [0], std: [1] }, D);
  const bad = dequantized ? offEightBitGrid(x) : -1;
  if (bad >= 0) {
    throw new OptionError('dequantize', `${name} row ${Math.floor(bad / D) + 1}, column ${(bad % D) + 1} is ${data.x[bad]}, not one of the 256 levels of 8-bit data (k / 127.5 - 1 in model coordinates)`);
  }
  return x;
}

/** What each batch adds: per-point model NLL, NFE, and the method's counts or terms (weighted by the batch's share). */
interface BatchSums {
  nats: number[];
  nfe: number;
  accepted: number;
  rejected: number;
  divergence?: DivergenceMethod;
  terms: { prior: number; diffusion: number; decoder: number };
}

/** Scores one batch xb (model coordinates) with the method, adding to `sums`; `share` = batch size / n. */
function scoreBatch(sde: SDE, score: ScoreFn, xb: tf.Tensor, seed: number, share: number, o: NllSettings, sums: BatchSums): void {
  if (o.method === 'ode') {
    const r = odeLogLikelihood(sde, score, xb, {
      eps: o.eps,
      rtol: o.rtol,
      atol: o.atol,
      divergence: o.hutchinson ? 'hutchinson' : 'auto',
      probe: o.hutchinson ?? 'rademacher',
      seed,
    });
    r.logp.forEach((v) => sums.nats.push(-v));
    sums.accepted += r.accepted;
    sums.rejected += r.rejected;
    sums.divergence = r.divergence;
    sums.nfe += r.nfe;
    return;
  }
  const r = variationalBound(sde, epsFromScore(sde, score), xb, {
    steps: o.steps,
    grid: o.grid,
    eps: o.eps,
    variance: o.variance,
    decoderVariance: o.variance === 'beta' ? 'beta' : 'clipped',
    decoder: o.dequantize ? 'discretized' : 'gaussian',
    seed,
  });
  r.nats.forEach((v) => sums.nats.push(v));
  sums.nfe += r.nfe;
  for (const k of ['prior', 'diffusion', 'decoder'] as const) sums.terms[k] += share * r.terms[k];
}

/**
 * The NLL of a data set under a score model, per point and as a mean per dimension with its
 * standard error, in batches. With x_i = (raw_i - mean) / std the model coordinates and D values
 * per point: ode: nats_i = -log p_eps(x_i) (odeLogLikelihood; dequantized: of
 * x_i + (u - 1/2)/127.5) + sum_j log std_j; vlb: nats_i = the variational bound of x_i
 * (variationalBound, with the discretized decoder when dequantized) + sum_j log std_j. The
 * log-Jacobian is 0 when dequantized (a discrete probability does not change with the
 * coordinates). natsPerDim = mean_i nats_i / D, seNatsPerDim = SE(nats) / D, and
 * bitsPerDim = (natsPerDim + log 127.5) / ln 2 for the dequantized ODE, natsPerDim / ln 2 otherwise.
 */
export function datasetNll(sde: SDE, score: ScoreFn, data: NllData, options: DatasetNllOptions = {}): DatasetNll {
  const o = nllSettings(options);
  const { method, seed, batch, dequantize: dequantized } = o;
  const D = data.sampleShape.reduce((a, b) => a * b, 1);
  const x = modelCoordinates(data, D, options, dequantized);
  const logJacobian = dequantized ? 0 : normalizationLogJacobian(options.normalization ?? { mean: [0], std: [1] }, D);
  const n = x.length / D;
  const batches = Math.ceil(n / batch);
  const sums: BatchSums = { nats: [], nfe: 0, accepted: 0, rejected: 0, terms: { prior: 0, diffusion: 0, decoder: 0 } };
  for (let b = 0; b < batches; b++) {
    const lo = b * batch;
    const hi = Math.min(n, lo + batch);
    const rows = x.subarray(lo * D, hi * D);
    const values = dequantized && method === 'ode' ? dequantize(rows, seed + DEQUANTIZE_STRIDE * b) : rows;
    const xb = tf.tensor(values, [hi - lo, ...data.sampleShape], 'float32');
    try {
      scoreBatch(sde, score, xb, seed + b, (hi - lo) / n, o, sums);
    } finally {
      xb.dispose();
    }
    options.onBatch?.(b + 1, batches, hi);
  }
  const nats = Float64Array.from(sums.nats, (v) => v + logJacobian);
  const { mean, se } = meanAndStandardError(nats);
  const natsPerDim = mean / D;
  const common = { nats, natsPerDim, seNatsPerDim: se / D, bitsPerDim: bitsPerDim(natsPerDim, dequantized && method === 'ode'), logJacobian, nfe: sums.nfe, n, dims: D, batches, dequantized };
  if (method === 'ode') {
    const divergence = sums.divergence!;
    return { method, ...common, eps: o.eps, rtol: o.rtol, atol: o.atol, divergence, ...(divergence === 'hutchinson' ? { probe: o.hutchinson ?? 'rademacher' } : {}), accepted: sums.accepted, rejected: sums.rejected };
  }
  const t = sums.terms;
  return { method, ...common, eps: o.eps, steps: o.steps, grid: o.grid, variance: o.variance, termsPerDim: { prior: t.prior / D, diffusion: t.diffusion / D, decoder: t.decoder / D } };
}
