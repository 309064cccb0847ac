import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { Points } from '../eval/metrics.js';
import type { KnownCoordinate } from '../oracle/conditional.js';
import type { Imputation } from '../solvers/types.js';

/** Rows of numbers: n rows of prod(shape) values (a Dataset fits). */
export interface Rows {
  n: number;
  shape: readonly number[];
  x: Float32Array;
}

/** Known values given as files: the values and a 0/1 mask (1 = known), each one shared row or one row per sample; the names are for messages. */
export interface KnownFiles {
  known: Rows;
  mask: Rows;
  knownFile: string;
  maskFile: string;
}

/** Known values as rows (data space): `rows` rows of D mask entries and values, row r for the samples i with i mod rows = r. */
export interface KnownRows {
  rows: number;
  mask: Float32Array;
  values: Float64Array;
}

/** Coordinates (index, value) fixed in every sample: one shared row, mask 1 at each index (a UsageError naming --known-dims for an index >= D). */
export function rowsFromCoordinates(coordinates: readonly KnownCoordinate[], D: number): KnownRows {
  const mask = new Float32Array(D);
  const values = new Float64Array(D);
  for (const [j, v] of coordinates) {
    if (j >= D) throw new UsageError(`--known-dims: index ${j} is out of range, the samples have ${D} values (indices 0..${D - 1})`);
    mask[j] = 1;
    values[j] = v;
  }
  return { rows: 1, mask, values };
}

/**
 * Known values and mask of files as rows for n samples of D values: each file has rows of D
 * values and 1 or n rows (UsageErrors naming --known / --mask otherwise); a single row of one
 * file is repeated to the other's number of rows.
 */
export function rowsFromFiles(files: KnownFiles, D: number, n: number): KnownRows {
  const { known, mask, knownFile, maskFile } = files;
  for (const [flag, file, ds] of [['known', knownFile, known], ['mask', maskFile, mask]] as const) {
    if (ds.shape[0] !== D) throw new UsageError(`--${flag} ${file}: rows have ${ds.shape[0]} values, the samples have ${D}`);
    if (ds.n !== 1 && ds.n !== n) throw new UsageError(`--${flag} ${file}: has ${ds.n} rows, expected 1 (shared by every sample) or one per sample (--n ${n})`);
  }
  const rows = Math.max(known.n, mask.n);
  const spread = (x: Float32Array) => Float32Array.from({ length: rows * D }, (_v, i) => x[i % x.length]);
  return { rows, mask: spread(mask.x), values: Float64Array.from(spread(known.x)) };
}

/** The known coordinates of each row, (index, value) in index order. */
export function knownCoordinatesByRow(known: KnownRows, D: number): KnownCoordinate[][] {
  return Array.from({ length: known.rows }, (_r, r) => {
    const row: KnownCoordinate[] = [];
    for (let j = 0; j < D; j++) if (known.mask[r * D + j] === 1) row.push([j, known.values[r * D + j]]);
    return row;
  });
}

/**
 * The imputation for integrate: values mapped to the model's coordinates by `toModel` (identity
 * when absent) and the mask, shaped like one sample (one row) or [n, ...sampleShape]. The caller disposes both tensors.
 */
export function imputationOf(known: KnownRows, sampleShape: readonly number[], n: number, toModel?: (raw: Float32Array) => Float32Array): Imputation {
  const raw = Float32Array.from(known.values);
  const model = toModel ? toModel(raw) : raw;
  const shape = known.rows === 1 ? [...sampleShape] : [n, ...sampleShape];
  return { values: tf.tensor(model, shape, 'float32'), mask: tf.tensor(known.mask, shape, 'float32') };
}

/** toPoints with the known coordinates of row i mod rows set exactly to their values in point i (float32 rounding undone). */
export function pinnedPoints(toPoints: (x: tf.Tensor) => Points, byRow: readonly KnownCoordinate[][]): (x: tf.Tensor) => Points {
  return (x) => {
    const points = toPoints(x);
    points.forEach((p, i) => {
      for (const [j, v] of byRow[i % byRow.length]) p[j] = v;
    });
    return points;
  };
}
