import * as tf from '@tensorflow/tfjs';
import { checkEmbeddingConfig, checkNumClasses, DEFAULT_SINUSOIDAL, embeddingSpecs, labelEmbedding, labelEmbeddingSpecs, timeEmbedding } from './embedding.js';
import { avgPool2, conv1x1, conv3x3, dense, denseSilu, groupNorm, silu, upsample2 } from './layers.js';
import type { Network, UNetConfig } from './network-types.js';
import type { ParamSpec, Params } from './params.js';

export type { UNetConfig } from './network-types.js';

/** The default U-Net for images of `shape`: 16 channels at full resolution, 4 groups, the sinusoidal time embedding. */
export function defaultUNetConfig(shape: [number, number, number], overrides: Partial<Omit<UNetConfig, 'arch' | 'shape'>> = {}): UNetConfig {
  return { arch: 'unet', shape, channels: 16, groups: 4, embedding: DEFAULT_SINUSOIDAL, ...overrides };
}

/** A residual block's name and channel counts. */
interface Block {
  name: string;
  cin: number;
  cout: number;
}

/** The sizes a U-Net config implies, checked. */
interface UNetDims {
  /** Patch side. */
  P: number;
  /** Channels the network proper sees: imageC P^2, at (H / P) x (W / P). */
  C: number;
  /** Channels at full resolution. */
  c: number;
  /** GroupNorm groups. */
  G: number;
  /** Width of the time-embedding MLP, 4c. */
  T: number;
  blocks: Record<'down0' | 'down1' | 'mid' | 'up1' | 'up0', Block>;
}

/** Checks a U-Net config (shapes, patch, channels, groups, embedding, classes) and derives its sizes. */
function unetDims(config: UNetConfig): UNetDims {
  const [imageH, imageW, imageC] = config.shape;
  const P = config.patch ?? 1;
  if (!(Number.isInteger(P) && P >= 1)) throw new Error(`unet: patch must be a positive integer, got ${P}`);
  const c = config.channels;
  const G = config.groups;
  if (!([imageH, imageW, imageC].every((v) => Number.isInteger(v) && v >= 1) && imageH % (2 * P) === 0 && imageW % (2 * P) === 0)) {
    throw new Error(`unet: shape must be [H, W, C] with H and W multiples of 2 x patch (${2 * P}), got [${config.shape}]`);
  }
  if (!(Number.isInteger(c) && c >= 1 && Number.isInteger(G) && G >= 1 && c % G === 0)) {
    throw new Error(`unet: channels (${c}) must be a positive multiple of groups (${G})`);
  }
  checkEmbeddingConfig(config.embedding);
  checkNumClasses(config.numClasses, 'unet');
  const blocks = {
    down0: { name: 'down0', cin: c, cout: c },
    down1: { name: 'down1', cin: c, cout: 2 * c },
    mid: { name: 'mid', cin: 2 * c, cout: 2 * c },
    up1: { name: 'up1', cin: 4 * c, cout: 2 * c },
    up0: { name: 'up0', cin: 3 * c, cout: c },
  };
  for (const b of Object.values(blocks)) {
    if (b.cin % G !== 0) throw new Error(`unet: ${b.cin} channels do not split into ${G} groups`);
  }
  return { P, C: imageC * P * P, c, G, T: 4 * c, blocks };
}

/** The U-Net's parameters: embeddings, the time MLP, conv_in, the residual blocks, the output norm and (zero) conv. */
function unetSpecs(config: UNetConfig, { C, c, T, blocks }: UNetDims): ParamSpec[] {
  const E = config.embedding.dim;
  const specs: ParamSpec[] = [...embeddingSpecs(config.embedding)];
  if (config.numClasses !== undefined) specs.push(...labelEmbeddingSpecs(config.numClasses, E));
  const param = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name, shape, init, trainable: true });
  const conv = (name: string, cin: number, cout: number, zero = false): void => {
    param(`${name}.w`, [3, 3, cin, cout], zero ? { kind: 'zeros' } : { kind: 'glorot', fanIn: 9 * cin, fanOut: 9 * cout });
    param(`${name}.b`, [cout], { kind: 'zeros' });
  };
  const lin = (name: string, cin: number, cout: number): void => {
    param(`${name}.w`, [cin, cout], { kind: 'glorot', fanIn: cin, fanOut: cout });
    param(`${name}.b`, [cout], { kind: 'zeros' });
  };
  const norm = (name: string, ch: number): void => {
    param(`${name}.gamma`, [ch], { kind: 'ones' });
    param(`${name}.beta`, [ch], { kind: 'zeros' });
  };
  lin('temb.l0', E, T);
  lin('temb.l1', T, T);
  conv('conv_in', C, c);
  for (const b of Object.values(blocks)) {
    norm(`${b.name}.gn0`, b.cin);
    conv(`${b.name}.conv0`, b.cin, b.cout);
    lin(`${b.name}.temb`, T, b.cout);
    norm(`${b.name}.gn1`, b.cout);
    conv(`${b.name}.conv1`, b.cout, b.cout);
    if (b.cin !== b.cout) lin(`${b.name}.skip`, b.cin, b.cout);
  }
  norm('out.gn', c);
  conv('out.conv', c, C, true);
  return specs;
}

/** One residual block: GroupNorm, SiLU, conv3x3, + projected time embedding, GroupNorm, SiLU, conv3x3, + skip. */
function resBlock(params: Params, b: Block, G: number, x: tf.Tensor4D, temb: tf.Tensor2D): tf.Tensor4D {
  const p = (k: string) => params[`${b.name}.${k}`];
  let h = silu(groupNorm(x, p('gn0.gamma'), p('gn0.beta'), G)) as tf.Tensor4D;
  h = conv3x3(h, p('conv0.w'), p('conv0.b'));
  const bias = dense(temb, p('temb.w'), p('temb.b')).reshape([-1, 1, 1, b.cout]);
  h = tf.add(h, bias) as tf.Tensor4D;
  h = silu(groupNorm(h, p('gn1.gamma'), p('gn1.beta'), G)) as tf.Tensor4D;
  h = conv3x3(h, p('conv1.w'), p('conv1.b'));
  const skip = b.cin === b.cout ? x : conv1x1(x, p('skip.w'), p('skip.b'));
  return tf.add(h, skip) as tf.Tensor4D;
}

/** The time (and label) embedding through the two-layer SiLU MLP: [B, 4c]. */
function unetEmbedding(params: Params, t: tf.Tensor, labels: tf.Tensor | undefined, B: number, numClasses: number | undefined): tf.Tensor2D {
  const tEmb = timeEmbedding(params, t, B);
  const emb = numClasses === undefined ? tEmb : tf.add(tEmb, labelEmbedding(params, labels, B, numClasses));
  return silu(dense(denseSilu(emb, params['temb.l0.w'], params['temb.l0.b']), params['temb.l1.w'], params['temb.l1.b'])) as tf.Tensor2D;
}

/** The U-Net proper on (folded) images x [B, h, w, C]: two resolutions with skip connections. */
function unetBody(params: Params, { G, blocks }: UNetDims, x: tf.Tensor4D, temb: tf.Tensor2D): tf.Tensor4D {
  const h0 = conv3x3(x, params['conv_in.w'], params['conv_in.b']);
  const s0 = resBlock(params, blocks.down0, G, h0, temb);
  const s1 = resBlock(params, blocks.down1, G, avgPool2(s0), temb);
  const m = resBlock(params, blocks.mid, G, s1, temb);
  const u1 = resBlock(params, blocks.up1, G, tf.concat([m, s1], 3), temb);
  const u0 = resBlock(params, blocks.up0, G, tf.concat([upsample2(u1), s0], 3), temb);
  const out = silu(groupNorm(u0, params['out.gn.gamma'], params['out.gn.beta'], G)) as tf.Tensor4D;
  return conv3x3(out, params['out.conv.w'], params['out.conv.b']);
}

/** The U-Net `config` describes (see UNetConfig), as a Network. */
export function createUNet(config: UNetConfig): Network {
  const dims = unetDims(config);
  const specs = unetSpecs(config, dims);
  const [imageH, imageW, imageC] = config.shape;
  const { P } = dims;

  function apply(params: Params, x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (x.rank !== 4 || x.shape[1] !== imageH || x.shape[2] !== imageW || x.shape[3] !== imageC) {
        throw new Error(`unet: expected input [batch, ${imageH}, ${imageW}, ${imageC}], got [${x.shape}]`);
      }
      const temb = unetEmbedding(params, t, labels, x.shape[0], config.numClasses);
      const y = unetBody(params, dims, P === 1 ? (x as tf.Tensor4D) : foldPatches(x as tf.Tensor4D, P), temb);
      return P === 1 ? y : unfoldPatches(y, P);
    });
  }

  return { config, specs, apply };
}

/**
 * Space to depth: x [B, H, W, C] -> [B, H/p, W/p, p*p*C], output channel (i p + j) C + c at
 * (h, w) holding x[p h + i, p w + j, c].
 */
export function foldPatches(x: tf.Tensor4D, p: number): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  return tf.tidy(() => x.reshape([B, H / p, p, W / p, p, C]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, H / p, W / p, p * p * C]));
}

/** Depth to space, the inverse of foldPatches: [B, h, w, p*p*C] -> [B, p h, p w, C]. */
export function unfoldPatches(y: tf.Tensor4D, p: number): tf.Tensor4D {
  const [B, h, w, D] = y.shape;
  const C = D / (p * p);
  return tf.tidy(() => y.reshape([B, h, w, p, p, C]).transpose([0, 1, 3, 2, 4, 5]).reshape([B, h * p, w * p, C]));
}
