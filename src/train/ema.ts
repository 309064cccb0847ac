import * as tf from '@tensorflow/tfjs';
import type { Params } from '../models/params.js';
import { emaSteps } from '../ops.js';

/**
 * Exponential moving average of parameters, as used for sampling (Song & Ermon 2020):
 * ema <- d ema + (1 - d) p with d_n = min(decay, (1 + n) / (10 + n)) at update n, the
 * warm-up of tf.train.ExponentialMovingAverage, so short runs are not dominated by the
 * initialization.
 */
export class EMA {
  readonly shadow: Record<string, tf.Variable> = {};

  /** Starts from copies of `params` (or from a saved average). */
  constructor(readonly decay: number, params: Params, saved?: Params) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`ema: decay must lie in [0, 1), got ${decay}`);
    for (const [k, p] of Object.entries(params)) {
      const s = saved?.[k];
      this.shadow[k] = tf.tidy(() => tf.variable(tf.clone(s ?? p), false));
    }
  }

  /** The decay of update n. */
  decayAt(n: number): number {
    return Math.min(this.decay, (1 + n) / (10 + n));
  }

  /** One update towards `params` (update number n). */
  update(params: Params, n: number): void {
    const keep = this.decayAt(n);
    tf.tidy(() => {
      const names = Object.keys(this.shadow);
      const updated = emaSteps(names.map((k) => this.shadow[k]), names.map((k) => params[k]), 1 - keep);
      names.forEach((k, i) => this.shadow[k].assign(updated[i]));
    });
  }

  dispose(): void {
    for (const s of Object.values(this.shadow)) s.dispose();
  }
}
