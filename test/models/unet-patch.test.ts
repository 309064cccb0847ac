import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { createNetwork } from '../../src/models/network.js';
import { disposeParams, initParams } from '../../src/models/params.js';
import { defaultUNetConfig, foldPatches, unfoldPatches } from '../../src/models/unet.js';

/* The patchified U-Net: space to depth in, depth to space out, checked index by index. */

test('foldPatches puts pixel (p h + i, p w + j, c) at (h, w, (i p + j) C + c); unfoldPatches inverts it', () => {
  const [B, H, W, C, p] = [2, 6, 4, 3, 2];
  const values = Array.from({ length: B * H * W * C }, (_, k) => k);
  const x = tf.tensor4d(values, [B, H, W, C]);
  const folded = foldPatches(x, p);
  expect(folded.shape).toEqual([B, H / p, W / p, p * p * C]);
  const f = folded.arraySync();
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < H; r++) {
      for (let s = 0; s < W; s++) {
        for (let c = 0; c < C; c++) {
          const expected = ((b * H + r) * W + s) * C + c;
          expect(f[b][Math.floor(r / p)][Math.floor(s / p)][((r % p) * p + (s % p)) * C + c]).toBe(expected);
        }
      }
    }
  }
  const back = unfoldPatches(folded, p);
  expect(Array.from(back.dataSync())).toEqual(values);
  tf.dispose([x, folded, back]);
});

test('a U-Net with patch 2 maps [B, 28, 28, 1] to [B, 28, 28, 1], its convolutions see 14 x 14 x 4, and leaks no tensors', () => {
  const net = createNetwork(defaultUNetConfig([28, 28, 1], { patch: 2, channels: 8 }));
  expect(net.specs.find((s) => s.name === 'conv_in.w')!.shape).toEqual([3, 3, 4, 8]);
  expect(net.specs.find((s) => s.name === 'out.conv.w')!.shape).toEqual([3, 3, 8, 4]);
  const params = initParams(net.specs, 0);
  // A non-zero output layer, so that the output depends on the input.
  params['out.conv.w'].dispose();
  params['out.conv.w'] = tf.randomNormal([3, 3, 8, 4], 0, 0.1, 'float32', 1);
  const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 2);
  const t = tf.tensor1d([0.1, 0.5, 0.9]);
  tf.dispose(net.apply(params, x, t)); // warm-up: layer caches
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    const y = net.apply(params, x, t);
    expect(y.shape).toEqual([3, 28, 28, 1]);
    expect(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(y)).dataSync()[0]))).toBe(true);
    y.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, t]);
  disposeParams(params);
});

test('a patch that does not tile the image twice over is refused', () => {
  expect(() => createNetwork(defaultUNetConfig([28, 28, 1], { patch: 3 }))).toThrow(/multiples of 2 x patch \(6\)/);
});
