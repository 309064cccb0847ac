import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import { mixtureDim, type GaussianMixture } from './mixture.js';

export interface MixtureSample {
  /** [n, D] draws. */
  x: tf.Tensor2D;
  /** The component each draw came from. */
  components: Int32Array;
  /** Its class, when the mixture has classes. */
  classes?: Int32Array;
}

/**
 * n draws x = mu_k + s_k z with k ~ Categorical(w) and z ~ N(0, I), all drawn on the host
 * from new Rng(seed): the same seed gives the same sample on every backend.
 */
export function sampleMixture(mix: GaussianMixture, n: number, seed = 0): MixtureSample {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`sampleMixture: n must be a positive integer, got ${n}`);
  const D = mixtureDim(mix);
  const rng = new Rng(seed);
  const cum: number[] = [];
  mix.weights.reduce((a, w, k) => (cum[k] = a + w), 0);
  const components = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next() * cum[cum.length - 1];
    let k = 0;
    while (k < cum.length - 1 && (r >= cum[k] || mix.weights[k] === 0)) k++;
    components[i] = k;
  }
  const mu = new Float32Array(n * D);
  const s = new Float32Array(n);
  components.forEach((k, i) => {
    for (let j = 0; j < D; j++) mu[i * D + j] = mix.means[k][j];
    s[i] = mix.stds[k];
  });
  const z = rng.fillNormal(new Float32Array(n * D));
  const x = tf.tidy(() => tf.add(tf.tensor2d(mu, [n, D]), tf.mul(tf.tensor2d(s, [n, 1]), tf.tensor2d(z, [n, D])))) as tf.Tensor2D;
  const out: MixtureSample = { x, components };
  if (mix.classes) out.classes = Int32Array.from(components, (k) => mix.classes![k]);
  return out;
}
