import * as tf from '@tensorflow/tfjs';
import type { SDE } from '../../src/sde/types.js';

/**
 * Test oracle, float64 on the host: data x0 ~ sum_k w_k N(mu_k, s_k^2 I) in D dimensions. Under an
 * SDE with x_t = m(t) x0 + sigma(t) z the marginal is sum_k w_k N(m mu_k, (m^2 s_k^2 + sigma^2) I),
 * so score_t(x) = sum_k r_k(x) (m mu_k - x) / v_k with v_k = m^2 s_k^2 + sigma^2 and the
 * responsibilities r_k; the exact noise predictor is eps*(x, t) = -sigma(t) score_t(x).
 */
export interface Mixture {
  weights: number[];
  means: number[][];
  stds: number[];
}

export function mixtureScore(mix: Mixture, sde: SDE, x: ArrayLike<number>, t: number): number[] {
  const D = x.length;
  const { mean: m, std: sigma } = sde.marginalAt(t);
  const K = mix.weights.length;
  const logr = new Array<number>(K);
  for (let k = 0; k < K; k++) {
    const v = m * m * mix.stds[k] ** 2 + sigma * sigma;
    let sq = 0;
    for (let d = 0; d < D; d++) sq += (x[d] - m * mix.means[k][d]) ** 2;
    logr[k] = Math.log(mix.weights[k]) - (0.5 * D) * Math.log(v) - sq / (2 * v);
  }
  const mx = Math.max(...logr);
  const r = logr.map((l) => Math.exp(l - mx));
  const total = r.reduce((a, b) => a + b, 0);
  const s = new Array<number>(D).fill(0);
  for (let k = 0; k < K; k++) {
    const v = m * m * mix.stds[k] ** 2 + sigma * sigma;
    for (let d = 0; d < D; d++) s[d] += (r[k] / total) * ((m * mix.means[k][d] - x[d]) / v);
  }
  return s;
}

/** eps*(x, t) = -sigma(t) score_t(x) on a batch, computed on the host in float64. */
export function exactEpsHost(mix: Mixture, sde: SDE, x: Float32Array | number[], t: ArrayLike<number>, D: number): Float64Array {
  const B = x.length / D;
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++) {
    const tb = t.length === 1 ? t[0] : t[b];
    const sigma = sde.marginalAt(tb).std;
    const s = mixtureScore(mix, sde, Array.from(x.slice(b * D, (b + 1) * D)), tb);
    for (let d = 0; d < D; d++) out[b * D + d] = -sigma * s[d];
  }
  return out;
}

/** The oracle eps-model as a tensor function (reads x and t back to the host). */
export function exactEpsFn(mix: Mixture, sde: SDE) {
  return (x: tf.Tensor, t: tf.Tensor): tf.Tensor => {
    const D = x.shape[1] as number;
    const values = exactEpsHost(mix, sde, x.dataSync() as Float32Array, t.dataSync(), D);
    return tf.tensor(Float32Array.from(values), x.shape, 'float32');
  };
}

/** Samples of the mixture, from a given standard-normal stream. */
export function sampleMixture(mix: Mixture, n: number, u: ArrayLike<number>, normals: ArrayLike<number>): Float32Array {
  const D = mix.means[0].length;
  const out = new Float32Array(n * D);
  const cdf: number[] = [];
  mix.weights.reduce((acc, w, k) => (cdf[k] = acc + w), 0);
  for (let i = 0; i < n; i++) {
    let k = cdf.findIndex((c) => u[i] < c);
    if (k < 0) k = mix.weights.length - 1;
    for (let d = 0; d < D; d++) out[i * D + d] = mix.means[k][d] + mix.stds[k] * normals[i * D + d];
  }
  return out;
}
