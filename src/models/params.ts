import * as tf from '@tensorflow/tfjs';
import { mixSeed, Rng } from '../random.js';

/** A network's parameters by name (tf.Variables while training, plain tensors when loaded). */
export type Params = Record<string, tf.Tensor>;

export type ParamInit =
  /** Glorot (Xavier) uniform: U(-l, l), l = sqrt(6 / (fanIn + fanOut)). */
  | { kind: 'glorot'; fanIn: number; fanOut: number }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  /** N(0, std^2); with `tile`, a draw of shape[0] / tile values repeated tile times along axis 0. */
  | { kind: 'normal'; std: number; tile?: number }
  | { kind: 'values'; values: number[] };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: ParamInit;
  /** False for fixed buffers (e.g. time-embedding frequencies): saved, never optimized. */
  trainable: boolean;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Fresh tensors for every spec; random inits are seeded: spec i draws from new Rng(mixSeed(seed, i)). */
export function initParams(specs: readonly ParamSpec[], seed: number): Params {
  const out: Params = {};
  specs.forEach((spec, i) => {
    const rng = new Rng(mixSeed(seed, i));
    const init = spec.init;
    out[spec.name] = tf.tidy(() => {
      switch (init.kind) {
        case 'glorot': {
          const limit = Math.sqrt(6 / (init.fanIn + init.fanOut));
          return tf.tensor(rng.fillUniform(new Float32Array(size(spec.shape)), -limit, limit), spec.shape, 'float32');
        }
        case 'zeros':
          return tf.zeros(spec.shape);
        case 'ones':
          return tf.ones(spec.shape);
        case 'normal': {
          const tile = init.tile ?? 1;
          const shape = [spec.shape[0] / tile, ...spec.shape.slice(1)];
          const part = tf.tensor(rng.fillNormal(new Float32Array(size(shape)), 0, init.std), shape, 'float32');
          if (tile === 1) return part;
          return tf.concat(new Array<tf.Tensor>(tile).fill(part), 0);
        }
        case 'values':
          return tf.tensor(init.values, spec.shape, 'float32');
      }
    });
  });
  return out;
}

/** Names of the trainable parameters, in spec order. */
export function trainableNames(specs: readonly ParamSpec[]): string[] {
  return specs.filter((s) => s.trainable).map((s) => s.name);
}

/** Wraps every tensor in a tf.Variable (trainable as the spec says), disposing nothing. */
export function toVariables(specs: readonly ParamSpec[], params: Params): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const spec of specs) out[spec.name] = tf.variable(params[spec.name], spec.trainable);
  return out;
}

/** Copies of the tensors (new data ids), e.g. to start an EMA. */
export function cloneParams(params: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) out[k] = tf.clone(v);
  return out;
}

/** Disposes every tensor of a parameter set (none: nothing). */
export function disposeParams(params: Params | undefined): void {
  if (!params) return;
  for (const v of Object.values(params)) v.dispose();
}

/** Checks that `params` holds every spec with its shape (e.g. after loading a checkpoint). */
export function checkParams(specs: readonly ParamSpec[], params: Params, what: string): void {
  for (const spec of specs) {
    const p = params[spec.name];
    if (!p) throw new Error(`${what}: missing parameter '${spec.name}'`);
    if (p.shape.length !== spec.shape.length || p.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`${what}: parameter '${spec.name}' has shape [${p.shape}], expected [${spec.shape}]`);
    }
  }
}

/** Total number of values in trainable parameters. */
export function countParams(specs: readonly ParamSpec[]): number {
  return specs.filter((s) => s.trainable).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
