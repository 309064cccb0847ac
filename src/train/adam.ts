import * as tf from '@tensorflow/tfjs';
import type { OptimizerState } from '../models/checkpoint.js';
import { adamCoefficients, adamStep } from '../ops.js';

/**
 * Adam (Kingma & Ba 2015) with linear learning-rate warm-up and clipping by the global gradient
 * norm (g <- g clip / max(|g|, clip)), on named tf.Variables. Its state (m, v, step) is plain
 * tensors and numbers, so it is saved with checkpoints and restored exactly.
 * Update n = 0, 1, ...: lr_n = lr min(1, (n + 1) / warmup), and with bias correction
 * p <- p - lr_n sqrt(1 - beta2^(n+1)) / (1 - beta1^(n+1)) m / (sqrt(v) + epsilon).
 */
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Updates over which the learning rate rises linearly to lr (0: none). */
  warmup: number;
  /** Global gradient-norm bound (0 or Infinity: no clipping). */
  gradClip: number;
}

export const DEFAULT_ADAM: AdamConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, warmup: 100, gradClip: 1 };

/** The Adam optimiser described above, with its state (m, v, step) on named variables. */
export class Adam {
  readonly config: AdamConfig;
  /** Number of updates applied so far. */
  step: number;
  readonly m: Record<string, tf.Variable> = {};
  readonly v: Record<string, tf.Variable> = {};
  private readonly clip: tf.Scalar;

  /**
   * `params` gives the names and shapes of the trainable parameters; `state` (from a checkpoint)
   * restores m, v and the step, else they start at zero.
   */
  constructor(config: Partial<AdamConfig>, params: Record<string, tf.Tensor>, state?: OptimizerState) {
    this.config = { ...DEFAULT_ADAM, ...config };
    const c = this.config;
    if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new Error(`adam: lr must be positive, got ${c.lr}`);
    if (!(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1)) throw new Error('adam: betas must lie in [0, 1)');
    if (!(c.warmup >= 0 && c.gradClip >= 0)) throw new Error('adam: warmup and gradClip must be non-negative');
    this.step = 0;
    if (state) {
      const s = Number(state.meta.step);
      if (!(Number.isInteger(s) && s >= 0)) throw new Error(`adam: bad saved step ${String(state.meta.step)}`);
      this.step = s;
    }
    for (const [name, p] of Object.entries(params)) {
      const sm = state?.tensors[`m/${name}`];
      const sv = state?.tensors[`v/${name}`];
      if (state && (!sm || !sv)) throw new Error(`adam: saved state has no moments for '${name}'`);
      this.m[name] = tf.tidy(() => tf.variable(sm ? tf.clone(sm) : tf.zerosLike(p), false));
      this.v[name] = tf.tidy(() => tf.variable(sv ? tf.clone(sv) : tf.zerosLike(p), false));
    }
    this.clip = tf.keep(tf.scalar(c.gradClip > 0 && Number.isFinite(c.gradClip) ? c.gradClip : Infinity));
  }

  /** The (warmed-up) learning rate of update n. */
  learningRate(n = this.step): number {
    const { lr, warmup } = this.config;
    return warmup > 0 ? lr * Math.min(1, (n + 1) / warmup) : lr;
  }

  /**
   * Applies one update to `vars` with `grads` (same names), clipping by the global norm.
   * Returns the global gradient norm before clipping (a scalar the caller disposes).
   */
  apply(vars: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>): tf.Scalar {
    const { beta1, beta2 } = this.config;
    const n = this.step;
    const lrT = (this.learningRate(n) * Math.sqrt(1 - Math.pow(beta2, n + 1))) / (1 - Math.pow(beta1, n + 1));
    const names = Object.keys(this.m);
    const norm = tf.tidy(() => {
      const norm = tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k]))))) as tf.Scalar;
      // factor = clip / max(norm, clip) folded into the moment coefficients.
      const clipping = Number.isFinite(this.config.gradClip) && this.config.gradClip > 0;
      const factor = clipping ? (tf.div(this.clip, tf.maximum(norm, this.clip)) as tf.Scalar) : tf.scalar(1);
      const coefficients = adamCoefficients(factor, { lr: lrT, beta1, beta2, eps: this.config.epsilon });
      for (const k of names) {
        // New tensors are assigned (see adamStep).
        const [p, m, v] = adamStep(vars[k], grads[k], this.m[k], this.v[k], coefficients);
        vars[k].assign(p);
        this.m[k].assign(m);
        this.v[k].assign(v);
      }
      return norm;
    });
    this.step = n + 1;
    return norm;
  }

  /** The state to checkpoint: references to m and v (not copies) and the hyperparameters. */
  state(): OptimizerState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(this.m)) {
      tensors[`m/${k}`] = this.m[k];
      tensors[`v/${k}`] = this.v[k];
    }
    return { meta: { kind: 'adam', step: this.step, ...this.config }, tensors };
  }

  dispose(): void {
    for (const k of Object.keys(this.m)) {
      this.m[k].dispose();
      this.v[k].dispose();
    }
    this.clip.dispose();
  }
}
