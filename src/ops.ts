import * as tf from '@tensorflow/tfjs';

/*
 * Ops with a plain-tfjs implementation that a backend may replace by one kernel registered
 * under the op's kernel name (src/native.ts registers them for the wasm backend). Models and
 * optimizers call these ops and never ask which implementation runs; every op gives the same
 * values, to float32 rounding, either way.
 */

/** Kernel names of the ops below. */
export const KERNELS = {
  /** a, b -> op(a) op(b) with attrs transposeA, transposeB, where the flags cost no extra pass. */
  matMul: 'SdeMatMul',
  /** a, b, bias -> silu(a b + bias). */
  denseSilu: 'SdeDenseSilu',
  /** z -> [silu(z), sigmoid(z)]. */
  siluParts: 'SdeSiluParts',
  /** dy, s, y -> dy (s + (y - y s)). */
  siluGrad: 'SdeSiluGrad',
  /** p, g, m, v, factor -> [p', m', v'] with attrs lr, beta1, beta2, eps. */
  adam: 'SdeAdam',
  /** e, p -> e - rate (e - p) with attr rate. */
  ema: 'SdeEma',
} as const;

/** Whether the active backend has a kernel for `name` and every input is float32. */
function hasKernel(name: string, inputs: tf.Tensor[]): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined && inputs.every((t) => t.dtype === 'float32');
}

function run<T>(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): T {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as unknown as T;
}

/**
 * op(a) op(b) for 2-D a and b, op a transpose where asked: the kernel's transpose flags where
 * the backend has SdeMatMul, else explicit transposes and a plain product (the stock wasm kernel
 * runs transposed operands 7-50x slower than a transpose and a plain product).
 */
export function matMulT(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  if (hasKernel(KERNELS.matMul, [a, b])) return run(KERNELS.matMul, { a, b }, { transposeA, transposeB });
  const a2 = transposeA ? tf.transpose(a as tf.Tensor2D) : (a as tf.Tensor2D);
  const b2 = transposeB ? tf.transpose(b as tf.Tensor2D) : (b as tf.Tensor2D);
  return tf.matMul(a2, b2);
}

/** [silu(z), sigmoid(z)] = [z s, s] with s = 1/(1 + e^-z). */
export function siluParts(z: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (hasKernel(KERNELS.siluParts, [z])) return run(KERNELS.siluParts, { z });
  const s = tf.sigmoid(z);
  return [tf.mul(z, s), s];
}

/** The SiLU gradient dy (s + (y - y s)) for y = silu(z) and s = sigmoid(z). */
export function siluGrad(dy: tf.Tensor, s: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (s.size === dy.size && y.size === dy.size && hasKernel(KERNELS.siluGrad, [dy, s, y])) return run(KERNELS.siluGrad, { dy, s, y });
  return tf.mul(dy, tf.add(s, tf.sub(y, tf.mul(y, s))));
}

/**
 * silu(x w + b) for x [n, a], w [a, b], b [b], without a gradient (the op records none): one
 * product with the activation in its epilogue where the backend has SdeDenseSilu.
 */
export function denseSiluForward(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  if (hasKernel(KERNELS.denseSilu, [x, w, b])) return run(KERNELS.denseSilu, { a: x, b: w, bias: b });
  return siluParts(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }))[0] as tf.Tensor2D;
}

/** Adam's hyperparameters for one step: lr already bias-corrected and warmed up. */
export interface AdamStepConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** The scalars of one Adam update, shared by all its parameters' steps (see adamCoefficients). */
export interface AdamCoefficients {
  readonly config: AdamStepConfig;
  /** The clip factor f. */
  readonly factor: tf.Scalar;
  readonly b1: tf.Scalar;
  readonly b2: tf.Scalar;
  /** f (1 - beta1) and f^2 (1 - beta2). */
  readonly c1: tf.Scalar;
  readonly c2: tf.Scalar;
  readonly eps: tf.Scalar;
  readonly negLr: tf.Scalar;
}

/** The scalars adamStep needs for clip factor `factor` (a scalar tensor), made once per update (inside the caller's tf.tidy). */
export function adamCoefficients(factor: tf.Scalar, config: AdamStepConfig): AdamCoefficients {
  const { lr, beta1, beta2, eps } = config;
  return {
    config,
    factor,
    b1: tf.scalar(beta1),
    b2: tf.scalar(beta2),
    c1: tf.mul(factor, 1 - beta1),
    c2: tf.mul(tf.square(factor), 1 - beta2),
    eps: tf.scalar(eps),
    negLr: tf.scalar(-lr),
  };
}

/**
 * One Adam step on one parameter: m' = beta1 m + f (1 - beta1) g,
 * v' = beta2 v + f^2 (1 - beta2) g^2, p' = p - lr m' / (sqrt(v') + eps), f the clip factor.
 * Returns new tensors [p', m', v'] for the caller to assign (a weight must become a new tensor:
 * the wasm backend caches XNNPACK operators with packed weights per tensor).
 */
export function adamStep(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, k: AdamCoefficients): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (g.size === p.size && m.size === p.size && v.size === p.size && hasKernel(KERNELS.adam, [p, g, m, v, k.factor])) {
    const { lr, beta1, beta2, eps } = k.config;
    return run(KERNELS.adam, { p, g, m, v, factor: k.factor }, { lr, beta1, beta2, eps });
  }
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, k.b1), tf.mul(g, k.c1));
    const v1 = tf.add(tf.mul(v, k.b2), tf.mul(tf.square(g), k.c2));
    const p1 = tf.add(p, tf.mul(k.negLr, tf.div(m1, tf.add(tf.sqrt(v1), k.eps))));
    return [p1, m1, v1];
  });
}

/** Moving-average steps e_i - rate (e_i - p_i) for each pair, as new tensors (one scalar shared by all). */
export function emaSteps(es: readonly tf.Tensor[], ps: readonly tf.Tensor[], rate: number): tf.Tensor[] {
  let rateT: tf.Scalar | undefined;
  return es.map((e, i) => {
    const p = ps[i];
    if (e.size === p.size && hasKernel(KERNELS.ema, [e, p])) return run<tf.Tensor>(KERNELS.ema, { e, p }, { rate });
    rateT ??= tf.scalar(rate);
    return tf.sub(e, tf.mul(rateT, tf.sub(e, p)));
  });
}
