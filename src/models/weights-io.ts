import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { writeFailure, writeFileAtomic } from '../io/atomic.js';
import type { Params } from './params.js';

/*
 * Weights are stored as one binary file per group of tensors (the parameters, their EMA, the
 * optimizer state): float32 values, little-endian, one tensor after another. The file is
 * described by a WeightsEntry (its name, size, sha256 and the tensors' names and shapes) that
 * lives in the checkpoint's config.json, so a damaged or truncated file is caught on load.
 * The file name holds the step and a prefix of the checksum: a new save never overwrites a
 * file the current config.json refers to.
 */

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** A binary weights file as config.json describes it. */
export interface WeightsEntry {
  /** File name inside the checkpoint directory. */
  file: string;
  bytes: number;
  /** sha256 of the file, hex. */
  sha256: string;
  weights: WeightSpec[];
  /** Free-form metadata (e.g. the optimizer's hyperparameters and step). */
  meta?: Record<string, unknown>;
}

/** sha256 of bytes, hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes tensors as DIR/NAME-STEP-HASH.bin (atomically: temp file, fsync, rename) and returns
 * the entry that describes it. Reads the tensors' values (dataSync). A full disk or a similar
 * refusal is a UsageError naming the file, which is then not left behind.
 */
export function writeWeights(dir: string, name: string, tensors: Params, step: number, meta?: Record<string, unknown>): WeightsEntry {
  const specs: WeightSpec[] = [];
  const chunks: Float32Array[] = [];
  let total = 0;
  for (const [n, t] of Object.entries(tensors)) {
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
  const sha256 = sha256Hex(bytes);
  const file = `${name}-${String(step).padStart(8, '0')}-${sha256.slice(0, 8)}.bin`;
  try {
    writeFileAtomic(path.join(dir, file), bytes);
  } catch (e) {
    throw writeFailure(path.join(dir, file), e);
  }
  return { file, bytes: total, sha256, weights: specs, ...(meta ? { meta } : {}) };
}

/** Checks the shape of an entry read from JSON; `where` names it in messages. */
export function checkWeightsEntry(value: unknown, where: string): WeightsEntry {
  const fail = (why: string): never => {
    throw new UsageError(`${where}: ${why}`);
  };
  const e = value as Partial<WeightsEntry> | null;
  if (typeof e !== 'object' || e === null) fail('expected an object describing a weights file');
  if (typeof e!.file !== 'string' || !/^[\w.-]+\.bin$/.test(e!.file) || e!.file.startsWith('.')) fail(`bad weights file name ${JSON.stringify(e!.file)}`);
  if (typeof e!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e!.sha256)) fail('missing or malformed sha256');
  if (!Array.isArray(e!.weights)) fail('missing the list of weights');
  let size = 0;
  for (const w of e!.weights!) {
    const ok = typeof w?.name === 'string' && w.dtype === 'float32' && Array.isArray(w.shape) && w.shape.every((d) => Number.isInteger(d) && d >= 0);
    if (!ok) fail(`bad weight description ${JSON.stringify(w)}`);
    size += 4 * w.shape.reduce((a, b) => a * b, 1);
  }
  if (e!.bytes !== size) fail(`the weights need ${size} bytes, the entry says ${String(e!.bytes)}`);
  return e as WeightsEntry;
}

/** Reads the file an entry describes into new tensors, after checking its size and sha256. */
export function readWeights(dir: string, entry: WeightsEntry): Params {
  const file = path.join(dir, entry.file);
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === 'ENOENT' ? 'missing (the checkpoint is incomplete)' : `unreadable (${code ?? (e as Error).message})`}`);
  }
  if (data.length !== entry.bytes) throw new UsageError(`${file}: truncated or damaged: ${data.length} bytes, expected ${entry.bytes}`);
  if (sha256Hex(data) !== entry.sha256) throw new UsageError(`${file}: damaged: its sha256 does not match the one in config.json`);
  const tensors: Params = {};
  let off = 0;
  for (const spec of entry.weights) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    new Uint8Array(values.buffer).set(data.subarray(off, off + 4 * size));
    tensors[spec.name] = tf.tensor(values, spec.shape, 'float32');
    off += 4 * size;
  }
  return tensors;
}
