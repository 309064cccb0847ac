import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Params } from './params.js';

/*
 * TensorFlow.js-style weight files written with node's fs (there is no tfjs-node here):
 * NAME.json holds a weightsManifest [{paths: ['NAME-STEP.bin'], weights: [{name, shape, dtype}]}]
 * and the binary file the float32 values, little-endian, one tensor after another in manifest
 * order. Every write is atomic: a temporary file, fsync, rename, fsync of the directory.
 */

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface WeightsFile {
  format: 'sde-weights';
  version: 1;
  step: number;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  /** Free-form metadata (e.g. the optimizer's hyperparameters). */
  meta?: Record<string, unknown>;
}

let tmpCounter = 0;

/** Writes data to file atomically: temp name in the same directory, fsync, rename, fsync dir. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${tmpCounter++}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    if (typeof data === 'string') fs.writeSync(fd, data);
    else {
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
}

/** fsync a directory so a rename in it is durable (not supported everywhere: best effort). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The binary file name of weights NAME at a step. */
export function weightsBinName(name: string, step: number): string {
  return `${name}-${String(step).padStart(8, '0')}.bin`;
}

/**
 * Writes tensors as DIR/NAME.json + DIR/NAME-STEP.bin (binary first, so the json never points at
 * a missing file). Reads the tensors' values (dataSync).
 */
export function writeWeights(dir: string, name: string, tensors: Params, step: number, meta?: Record<string, unknown>): void {
  const names = Object.keys(tensors);
  const specs: WeightSpec[] = [];
  const chunks: Float32Array[] = [];
  let total = 0;
  for (const n of names) {
    const t = tensors[n];
    if (t.dtype !== 'float32') throw new Error(`writeWeights: '${n}' has dtype ${t.dtype}, only float32 is supported`);
    const values = t.dataSync() as Float32Array;
    specs.push({ name: n, shape: [...t.shape], dtype: 'float32' });
    chunks.push(values);
    total += values.byteLength;
  }
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    bytes.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), off);
    off += c.byteLength;
  }
  const bin = weightsBinName(name, step);
  writeFileAtomic(path.join(dir, bin), bytes);
  const manifest: WeightsFile = { format: 'sde-weights', version: 1, step, weightsManifest: [{ paths: [bin], weights: specs }], ...(meta ? { meta } : {}) };
  writeFileAtomic(path.join(dir, `${name}.json`), JSON.stringify(manifest, null, 1) + '\n');
}

function fail(file: string, why: string): never {
  throw new UsageError(`${file}: ${why}`);
}

/** Reads DIR/NAME.json and its binary file into new tensors. */
export function readWeights(dir: string, name: string): { step: number; tensors: Params; meta?: Record<string, unknown> } {
  const jsonPath = path.join(dir, `${name}.json`);
  let manifest: WeightsFile;
  try {
    manifest = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as WeightsFile;
  } catch (e) {
    fail(jsonPath, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `not valid JSON (${(e as Error).message})`);
  }
  if (manifest?.format !== 'sde-weights' || !Array.isArray(manifest.weightsManifest)) fail(jsonPath, 'not an sde weights manifest');
  const tensors: Params = {};
  try {
    for (const group of manifest.weightsManifest) {
      const buffers = group.paths.map((p) => {
        if (p.includes('/') || p.includes('\\')) fail(jsonPath, `weights path '${p}' must be a file name in the checkpoint directory`);
        try {
          return fs.readFileSync(path.join(dir, p));
        } catch {
          return fail(path.join(dir, p), 'missing or unreadable weights file');
        }
      });
      const data = Buffer.concat(buffers);
      let off = 0;
      for (const spec of group.weights) {
        if (spec.dtype !== 'float32') fail(jsonPath, `weight '${spec.name}' has dtype ${spec.dtype}, expected float32`);
        const size = spec.shape.reduce((a, b) => a * b, 1);
        const bytes = size * 4;
        if (off + bytes > data.length) fail(jsonPath, `weights file is too short for '${spec.name}'`);
        const values = new Float32Array(size);
        new Uint8Array(values.buffer).set(data.subarray(off, off + bytes));
        tensors[spec.name] = tf.tensor(values, spec.shape, 'float32');
        off += bytes;
      }
      if (off !== data.length) fail(jsonPath, `weights file has ${data.length - off} bytes more than the manifest describes`);
    }
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
  return { step: manifest.step, tensors, ...(manifest.meta ? { meta: manifest.meta } : {}) };
}
