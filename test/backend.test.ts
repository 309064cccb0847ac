import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseBackendName } from '../src/backend.js';
import { configureRuntime, runtimeOptionsFromEnv } from '../src/runtime.js';
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
// This file tests the threaded wasm path, so it asks for every core (the default leaves out
// cores other processes keep busy). Set before test/setup.ts's beforeAll selects the backend.
process.env.SDE_WASM_THREADS ??= String(os.availableParallelism());
/** configureRuntime with the environment's threads and native setting and the backend `name`. */
const select = (name: 'auto' | 'cpu' | 'wasm' | 'tensorflow', log?: (line: string) => void) => configureRuntime({ ...runtimeOptionsFromEnv(), backend: name, log });

describe('backend selection', () => {
  test('the wasm binaries ship inside node_modules', () => {
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) expect(fs.existsSync(path.join(dist, f))).toBe(true);
  });

  test('auto picks a native backend when installed, else wasm with SIMD', async () => {
    const info = await select('auto');
    if (hasNative) expect(info.backend).toBe('tensorflow');
    else {
      expect(info.backend).toBe('wasm');
      expect(info.description).toMatch(/^wasm \(SIMD/);
    }
  });

  test('a named backend is used and announced', async () => {
    const lines: string[] = [];
    const info = await select('cpu', (l) => lines.push(l));
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toEqual(['backend: cpu']);
    // auto keeps the backend already selected.
    expect((await select('auto')).backend).toBe('cpu');
    const wasm = await select('wasm');
    expect(wasm.backend).toBe('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    expect(Array.from(x.square().dataSync())).toEqual([1, 4, 9]);
  });

  test.skipIf(hasNative)('tensorflow without tfjs-node installed is a usage error', async () => {
    await expect(select('tensorflow')).rejects.toThrow(UsageError);
    await expect(select('tensorflow')).rejects.toThrow(/--backend tensorflow/);
  });

  test.skipIf(hasNative)('threaded wasm gives the same matMul as the stock single-threaded wasm', async () => {
    const info = await select('wasm');
    // The count asked for (1 would mean the shim fell back).
    expect(info.threads).toBe(Number(process.env.SDE_WASM_THREADS));
    expect(info.description).toMatch(/^wasm \(SIMD, \d+ threads?\)$/);
    // Deterministic operands; shapes large enough that XNNPACK splits the work across threads.
    const operands = `const f = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s) + ((i * 7919) % 13) / 13);
      const a = tf.tensor2d(f(300 * 200, 0.37), [300, 200]), b = tf.tensor2d(f(200 * 150, 0.11), [200, 150]);`;
    const here = new Function('tf', `${operands} return tf.matMul(a, b).dataSync();`)(tf) as Float32Array;
    // The reference: a child Node.js with the stock wasm backend (SIMD, 1 thread), no shim.
    const script = `import * as tf from '@tensorflow/tfjs';
      import * as wasm from '@tensorflow/tfjs-backend-wasm';
      import { createRequire } from 'node:module';
      import path from 'node:path';
      wasm.setWasmPaths(path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
      await tf.setBackend('wasm');
      ${operands}
      process.stdout.write(JSON.stringify([tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'), Array.from(tf.matMul(a, b).dataSync())]));`;
    const [childThreaded, reference] = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), '../../..') })) as [boolean, number[]];
    expect(childThreaded).toBe(false);
    expect(here.length).toBe(reference.length);
    let maxErr = 0;
    here.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - reference[i]) / (1 + Math.abs(reference[i])))));
    expect(maxErr).toBeLessThan(1e-5);
  });

  test('unknown names are usage errors naming their source', () => {
    expect(() => parseBackendName('tpu', '--backend')).toThrow(/--backend: unknown backend 'tpu'/);
    expect(() => parseBackendName('tpu', 'SDE_BACKEND')).toThrow(/^SDE_BACKEND/);
    expect(parseBackendName('wasm', '--backend')).toBe('wasm');
  });
});
