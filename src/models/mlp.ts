import * as tf from '@tensorflow/tfjs';
import { checkEmbeddingConfig, checkNumClasses, DEFAULT_SINUSOIDAL, embeddingSpecs, labelEmbedding, labelEmbeddingSpecs, timeEmbedding } from './embedding.js';
import { dense, denseAddSilu, denseSilu } from './layers.js';
import type { MLPConfig, Network } from './network-types.js';
import type { ParamSpec, Params } from './params.js';

export type { MLPConfig } from './network-types.js';

/**
 * The default MLP: 3 SiLU layers of 128 with the sinusoidal (DDPM) time embedding concatenated to
 * the input. Gaussian Fourier features of scale 16 (score_sde's NCSN++ choice, made for VE's
 * log-sigma input) vary too fast in t for this small network: trained on moons as in issue 7
 * their probability-flow samples reached sliced W2 0.032 (RK45 1e-5), the sinusoidal embedding's
 * 0.024, with the reverse SDE at 0.023 for both.
 */
export function defaultMLPConfig(dim: number, overrides: Partial<Omit<MLPConfig, 'arch' | 'dim'>> = {}): MLPConfig {
  return { arch: 'mlp', dim, hidden: [128, 128, 128], embedding: DEFAULT_SINUSOIDAL, timeConditioning: 'concat', ...overrides };
}

function glorot(name: string, fanIn: number, fanOut: number): ParamSpec {
  return { name, shape: [fanIn, fanOut], init: { kind: 'glorot', fanIn, fanOut }, trainable: true };
}

function zeros(name: string, shape: number[]): ParamSpec {
  return { name, shape, init: { kind: 'zeros' }, trainable: true };
}

/** The MLP `config` describes (see MLPConfig), as a Network. */
export function createMLP(config: MLPConfig): Network {
  const { dim, hidden, embedding, timeConditioning, numClasses } = config;
  if (!(Number.isInteger(dim) && dim >= 1)) throw new Error(`mlp: dim must be a positive integer, got ${dim}`);
  if (hidden.length < 1 || !hidden.every((h) => Number.isInteger(h) && h >= 1)) throw new Error(`mlp: hidden widths must be positive integers, got [${hidden}]`);
  if (timeConditioning !== 'concat' && timeConditioning !== 'add') throw new Error(`mlp: timeConditioning must be 'concat' or 'add', got '${String(timeConditioning)}'`);
  checkEmbeddingConfig(embedding);
  checkNumClasses(numClasses, 'mlp');
  const E = embedding.dim;
  const specs: ParamSpec[] = [...embeddingSpecs(embedding)];
  if (numClasses !== undefined) specs.push(...labelEmbeddingSpecs(numClasses, E));
  const totalHidden = hidden.reduce((a, b) => a + b, 0);
  if (timeConditioning === 'add') specs.push(glorot('temb.proj.w', E, totalHidden), zeros('temb.proj.b', [totalHidden]));
  let fanIn = timeConditioning === 'concat' ? dim + E : dim;
  hidden.forEach((h, i) => {
    specs.push(glorot(`h${i}.w`, fanIn, h), zeros(`h${i}.b`, [h]));
    fanIn = h;
  });
  specs.push(zeros('out.w', [fanIn, dim]), zeros('out.b', [dim]));

  function apply(params: Params, x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (x.rank !== 2 || x.shape[1] !== dim) throw new Error(`mlp: expected input [batch, ${dim}], got [${x.shape}]`);
      const B = x.shape[0];
      const sharedTime = t.rank === 0 || (t.rank === 1 && t.shape[0] === 1);
      if (timeConditioning === 'concat' && sharedTime && numClasses === undefined) {
        // One t for the batch: [x, e] W0 + b0 = x W0[:dim] + (e W0[dim:] + b0), the bracket one row used as the bias.
        const w0 = params['h0.w'];
        const h0 = hidden[0];
        // The bias is made by an add of rank-1 tensors, not a reshape of the [1, h0] product: wasm's
        // _FusedMatMul checks the rank of the bias's data, which a reshape shares with its source.
        const embeddingRow = tf.matMul(timeEmbedding(params, t, 1), tf.slice(w0, [dim, 0], [E, h0])).reshape([h0]);
        const rowBias = tf.add(embeddingRow, params['h0.b']);
        let h: tf.Tensor = denseSilu(x, tf.slice(w0, [0, 0], [dim, h0]), rowBias);
        for (let i = 1; i < hidden.length; i++) h = denseSilu(h, params[`h${i}.w`], params[`h${i}.b`]);
        return dense(h, params['out.w'], params['out.b']);
      }
      const temb = timeEmbedding(params, t, B);
      const emb = numClasses === undefined ? temb : tf.add(temb, labelEmbedding(params, labels, B, numClasses));
      let h: tf.Tensor;
      if (timeConditioning === 'concat') {
        h = tf.concat([x, emb], 1);
        hidden.forEach((_, i) => {
          h = denseSilu(h, params[`h${i}.w`], params[`h${i}.b`]);
        });
      } else {
        const proj = dense(emb, params['temb.proj.w'], params['temb.proj.b']);
        const parts = hidden.length === 1 ? [proj] : tf.split(proj, hidden, 1);
        h = x;
        hidden.forEach((_, i) => {
          h = denseAddSilu(h, params[`h${i}.w`], params[`h${i}.b`], parts[i]);
        });
      }
      return dense(h, params['out.w'], params['out.b']);
    });
  }

  return { config, specs, apply };
}
