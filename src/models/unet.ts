import * as tf from '@tensorflow/tfjs';
import { checkEmbeddingConfig, checkNumClasses, DEFAULT_SINUSOIDAL, embeddingSpecs, labelEmbedding, labelEmbeddingSpecs, timeEmbedding, type TimeEmbeddingConfig } from './embedding.js';
import { avgPool2, conv1x1, conv3x3, dense, denseSilu, groupNorm, silu, upsample2 } from './layers.js';
import type { Network } from './network.js';
import type { ParamSpec, Params } from './params.js';

/**
 * A small U-Net for images x [B, H, W, C] (H, W even; 28x28x1 for MNIST) with two resolutions:
 *
 *   conv_in -> res(c) ---------------------------------------------------- concat -> res(c) -> out
 *                 \-> avgpool 2 -> res(2c) -> res(2c) (middle) -> concat -> res(2c) -> upsample 2 /
 *                                     \------------------------------/
 *
 * Each residual block: GroupNorm, SiLU, conv3x3, + projected time embedding, GroupNorm, SiLU,
 * conv3x3, + skip (a 1x1 conv where the channel count changes). The time embedding goes through
 * a two-layer SiLU MLP of width 4c first. The output conv starts at zero. With `numClasses` = K,
 * a learned label embedding c(y) (K + 1 rows, the last the null label) is added to the time
 * embedding before that MLP, e = e(t) + c(y), as in the class-conditional DDPM U-Nets.
 * With `patch` = p > 1 the image is first folded into p x p patches (space to depth,
 * [H, W, C] -> [H/p, W/p, p^2 C]), the U-Net runs at that resolution and the output is
 * unfolded again: p^2 times fewer positions for every convolution, as patchified diffusion
 * models do (DiT), at some cost in detail.
 */
export interface UNetConfig {
  arch: 'unet';
  /** Per-sample shape [H, W, C]. */
  shape: [number, number, number];
  /** Channels at full resolution (doubled at half resolution). */
  channels: number;
  groups: number;
  embedding: TimeEmbeddingConfig;
  /** Side of the square patches folded into channels before the first convolution (default 1). */
  patch?: number;
  /** Class-conditional with labels 0..numClasses-1 (and the null label numClasses); absent: unconditional. */
  numClasses?: number;
}

export function defaultUNetConfig(shape: [number, number, number], overrides: Partial<Omit<UNetConfig, 'arch' | 'shape'>> = {}): UNetConfig {
  return { arch: 'unet', shape, channels: 16, groups: 4, embedding: DEFAULT_SINUSOIDAL, ...overrides };
}

interface Block {
  name: string;
  cin: number;
  cout: number;
}

export function createUNet(config: UNetConfig): Network {
  const [imageH, imageW, imageC] = config.shape;
  const P = config.patch ?? 1;
  if (!(Number.isInteger(P) && P >= 1)) throw new Error(`unet: patch must be a positive integer, got ${P}`);
  // The network proper sees C = imageC P^2 channels at (imageH / P) x (imageW / P).
  const C = imageC * P * P;
  const c = config.channels;
  const G = config.groups;
  if (!([imageH, imageW, imageC].every((v) => Number.isInteger(v) && v >= 1) && imageH % (2 * P) === 0 && imageW % (2 * P) === 0)) {
    throw new Error(`unet: shape must be [H, W, C] with H and W multiples of 2 x patch (${2 * P}), got [${config.shape}]`);
  }
  if (!(Number.isInteger(c) && c >= 1 && Number.isInteger(G) && G >= 1 && c % G === 0)) {
    throw new Error(`unet: channels (${c}) must be a positive multiple of groups (${G})`);
  }
  checkEmbeddingConfig(config.embedding);
  const numClasses = config.numClasses;
  checkNumClasses(numClasses, 'unet');
  const E = config.embedding.dim;
  const T = 4 * c;
  const specs: ParamSpec[] = [...embeddingSpecs(config.embedding)];
  if (numClasses !== undefined) specs.push(...labelEmbeddingSpecs(numClasses, E));
  const conv = (name: string, cin: number, cout: number, zero = false): void => {
    const fanIn = 9 * cin;
    const fanOut = 9 * cout;
    specs.push(
      { name: `${name}.w`, shape: [3, 3, cin, cout], init: zero ? { kind: 'zeros' } : { kind: 'glorot', fanIn, fanOut }, trainable: true },
      { name: `${name}.b`, shape: [cout], init: { kind: 'zeros' }, trainable: true },
    );
  };
  const lin = (name: string, cin: number, cout: number): void => {
    specs.push(
      { name: `${name}.w`, shape: [cin, cout], init: { kind: 'glorot', fanIn: cin, fanOut: cout }, trainable: true },
      { name: `${name}.b`, shape: [cout], init: { kind: 'zeros' }, trainable: true },
    );
  };
  const norm = (name: string, ch: number): void => {
    specs.push(
      { name: `${name}.gamma`, shape: [ch], init: { kind: 'ones' }, trainable: true },
      { name: `${name}.beta`, shape: [ch], init: { kind: 'zeros' }, trainable: true },
    );
  };
  const blocks: Record<string, Block> = {
    down0: { name: 'down0', cin: c, cout: c },
    down1: { name: 'down1', cin: c, cout: 2 * c },
    mid: { name: 'mid', cin: 2 * c, cout: 2 * c },
    up1: { name: 'up1', cin: 4 * c, cout: 2 * c },
    up0: { name: 'up0', cin: 3 * c, cout: c },
  };
  for (const b of Object.values(blocks)) {
    if (b.cin % G !== 0) throw new Error(`unet: ${b.cin} channels do not split into ${G} groups`);
  }
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

  function resBlock(params: Params, b: Block, x: tf.Tensor4D, temb: tf.Tensor2D): tf.Tensor4D {
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

  function apply(params: Params, x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (x.rank !== 4 || x.shape[1] !== imageH || x.shape[2] !== imageW || x.shape[3] !== imageC) {
        throw new Error(`unet: expected input [batch, ${imageH}, ${imageW}, ${imageC}], got [${x.shape}]`);
      }
      const B = x.shape[0];
      const tEmb = timeEmbedding(params, t, B);
      const emb = numClasses === undefined ? tEmb : tf.add(tEmb, labelEmbedding(params, labels, B, numClasses));
      const temb = silu(dense(denseSilu(emb, params['temb.l0.w'], params['temb.l0.b']), params['temb.l1.w'], params['temb.l1.b'])) as tf.Tensor2D;
      const h0 = conv3x3(P === 1 ? (x as tf.Tensor4D) : foldPatches(x as tf.Tensor4D, P), params['conv_in.w'], params['conv_in.b']);
      const s0 = resBlock(params, blocks.down0, h0, temb);
      const s1 = resBlock(params, blocks.down1, avgPool2(s0), temb);
      const m = resBlock(params, blocks.mid, s1, temb);
      const u1 = resBlock(params, blocks.up1, tf.concat([m, s1], 3), temb);
      const up = upsample2(u1);
      const u0 = resBlock(params, blocks.up0, tf.concat([up, s0], 3), temb);
      const out = silu(groupNorm(u0, params['out.gn.gamma'], params['out.gn.beta'], G)) as tf.Tensor4D;
      const y = conv3x3(out, params['out.conv.w'], params['out.conv.b']);
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
