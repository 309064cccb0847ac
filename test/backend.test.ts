import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseBackendName, selectBackend } from '../src/backend.js';
import { UsageError } from '../src/errors.js';

const require = createRequire(import.meta.url);
/** A native backend counts when its package loads (an install whose binary download failed does not). */
async function loads(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}
const hasNative = (await loads('@tensorflow/tfjs-node-gpu')) || (await loads('@tensorflow/tfjs-node'));

describe('backend selection', () => {
  test('the wasm binaries ship inside node_modules', () => {
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) expect(fs.existsSync(path.join(dist, f))).toBe(true);
  });

  test('auto picks a native backend when installed, else wasm with SIMD', async () => {
    const info = await selectBackend('auto');
    if (hasNative) expect(info.backend).toBe('tensorflow');
    else {
      expect(info.backend).toBe('wasm');
      expect(info.description).toMatch(/^wasm \(SIMD/);
    }
  });

  test('a named backend is used and announced once', async () => {
    const lines: string[] = [];
    const info = await selectBackend('cpu', (l) => lines.push(l));
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toEqual(['backend: cpu']);
    await selectBackend('cpu', (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    const wasm = await selectBackend('wasm');
    expect(wasm.backend).toBe('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    expect(Array.from(x.square().dataSync())).toEqual([1, 4, 9]);
  });

  test.skipIf(hasNative)('tensorflow without tfjs-node installed is a usage error', async () => {
    await expect(selectBackend('tensorflow')).rejects.toThrow(UsageError);
    await expect(selectBackend('tensorflow')).rejects.toThrow(/--backend tensorflow/);
  });

  test('unknown names are usage errors naming their source', () => {
    expect(() => parseBackendName('tpu', '--backend')).toThrow(/--backend: unknown backend 'tpu'/);
    expect(() => parseBackendName('tpu', 'SDE_BACKEND')).toThrow(/^SDE_BACKEND/);
    expect(parseBackendName('wasm', '--backend')).toBe('wasm');
  });
});
