import * as tf from '@tensorflow/tfjs';
import type { Argv } from 'yargs';
import { guidedScore } from '../src/conditioning/guidance.js';
import { loadCsv } from '../src/data/csv.js';
import type { Dataset } from '../src/data/dataset.js';
import { UsageError } from '../src/errors.js';
import type { Points } from '../src/eval/metrics.js';
import { conditionOnClass, givenKnownSampler, mixtureConditionalScore, sampleMixture, type GaussianMixture, type KnownCoordinate } from '../src/oracle/index.js';
import { normalRng, uniformRng } from '../src/random.js';
import type { Imputation } from '../src/solvers/types.js';
import type { ScoreSource } from './score-source.js';
import { finiteNumber, integerAtLeast } from './validate.js';

/** Flags of conditional generation: a class with classifier-free guidance, and inpainting. */
export function withConditioningOptions<T>(y: Argv<T>) {
  return y
    .option('class', { type: 'string', describe: 'sample class C (an oracle mixture with "classes", or a class-conditional model); sde sample also takes a list C1,C2,... (--n samples of each)' })
    .option('guidance', { type: 'string', describe: 'classifier-free guidance weight W >= 0 with --class: eps = (1+W) eps(x,t,C) - W eps(x,t); W > 0 costs 2 NFE per score call (default 0)' })
    .option('known-dims', { type: 'string', describe: 'inpainting: fixed coordinates INDEX=VALUE,..., e.g. 0=1.5,2=-0.3; the others are sampled' })
    .option('known', { type: 'string', describe: 'inpainting: CSV of known values (one row for every sample, or one row per sample), with --mask' })
    .option('mask', { type: 'string', describe: 'inpainting: CSV of 0/1, 1 = known, shaped like --known (one row or one per sample)' });
}

/** What the conditioning flags ask for, parsed and checked before any work (files read, not yet matched to the source). */
export interface Conditioning {
  label?: number;
  /** --class C1,C2,...: every class asked for, in order (one entry for a single --class C). */
  labels?: number[];
  guidance: number;
  /** --known-dims as (index, value) pairs, in the order given. */
  knownDims?: KnownCoordinate[];
  /** --known FILE --mask FILE, read. */
  knownFiles?: { known: Dataset; mask: Dataset; knownFile: string; maskFile: string };
}

function parseKnownDims(value: unknown): KnownCoordinate[] {
  const text = String(value);
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new UsageError(`--known-dims: expected INDEX=VALUE pairs separated by commas (e.g. 0=1.5,2=-0.3), got '${text}'`);
  const seen = new Set<number>();
  return parts.map((p) => {
    const m = /^([^=]*)=(.*)$/.exec(p);
    if (!m) throw new UsageError(`--known-dims: expected INDEX=VALUE (e.g. 0=1.5), got '${p}'`);
    const index = Number(m[1].trim());
    if (m[1].trim() === '' || !Number.isInteger(index) || index < 0) throw new UsageError(`--known-dims: expected an index >= 0 before '=', got '${m[1]}' in '${p}'`);
    const v = m[2].trim() === '' ? NaN : Number(m[2]);
    if (!Number.isFinite(v)) throw new UsageError(`--known-dims: expected a finite number after '=', got '${m[2]}' in '${p}'`);
    if (seen.has(index)) throw new UsageError(`--known-dims: index ${index} is given more than once`);
    seen.add(index);
    return [index, v] as const;
  });
}

/** --class C or C1,C2,...: distinct integers >= 0, in the order given. */
function parseClassList(value: unknown): number[] {
  const parts = String(value).split(',').map((p) => p.trim());
  const labels = parts.map((p) => integerAtLeast('class', p, 0));
  const repeated = labels.find((c, i) => labels.indexOf(c) !== i);
  if (repeated !== undefined) throw new UsageError(`--class: class ${repeated} is listed twice in '${String(value)}'`);
  return labels;
}

/**
 * Parses --class, --guidance, --known-dims, --known and --mask; every problem is a one-line
 * UsageError naming the flag: --guidance needs --class; --known-dims excludes --known/--mask;
 * --known and --mask come together; files must be readable CSVs, the mask all 0 or 1.
 */
export function conditioningFromArgs(argv: Record<string, unknown>): Conditioning {
  const out: Conditioning = { guidance: 0 };
  if (argv.class !== undefined) {
    out.labels = parseClassList(argv.class);
    out.label = out.labels[0];
  }
  if (argv.guidance !== undefined) {
    const w = finiteNumber('guidance', argv.guidance);
    if (w < 0) throw new UsageError(`--guidance: expected a number >= 0, got ${w}`);
    if (out.label === undefined) throw new UsageError('--guidance: needs --class C (the class to guide towards)');
    out.guidance = w;
  }
  const hasKnown = argv.known !== undefined;
  const hasMask = argv.mask !== undefined;
  if (argv['known-dims'] !== undefined) {
    if (hasKnown || hasMask) throw new UsageError(`--known-dims: give either --known-dims or --known FILE --mask FILE, not both`);
    out.knownDims = parseKnownDims(argv['known-dims']);
  }
  if (hasKnown !== hasMask) throw new UsageError(hasKnown ? '--known: needs --mask FILE (1 = known, 0 = to sample)' : '--mask: needs --known FILE (the known values)');
  if (hasKnown) {
    const knownFile = String(argv.known);
    const maskFile = String(argv.mask);
    const known = loadCsv(knownFile, { label: `--known ${knownFile}` });
    const mask = loadCsv(maskFile, { label: `--mask ${maskFile}` });
    const d = mask.shape[0];
    mask.x.forEach((v, i) => {
      if (v !== 0 && v !== 1) throw new UsageError(`--mask ${maskFile}: row ${Math.floor(i / d) + 1}, column ${(i % d) + 1}: expected 0 or 1, got ${v}`);
    });
    out.knownFiles = { known, mask, knownFile, maskFile };
  }
  return out;
}

/** The fields a command's JSON result adds for the conditioning flags given (none without them). */
export function conditioningSummary(c: Conditioning): Record<string, unknown> {
  return {
    ...(c.label !== undefined ? { class: c.labels && c.labels.length > 1 ? c.labels : c.label, guidance: c.guidance } : {}),
    ...(c.knownDims ? { knownDims: c.knownDims.map(([j]) => j) } : {}),
    ...(c.knownFiles ? { known: c.knownFiles.knownFile, mask: c.knownFiles.maskFile } : {}),
  };
}

/** A score source conditioned by the flags: its score guided, and the imputation for integrate. */
export type ConditionedSource = ScoreSource & { impute?: Imputation };

/** Known values as rows (data space): `rows` rows of D mask entries and values, each row for samples i with i mod rows = row. */
interface KnownRows {
  rows: number;
  mask: Float32Array;
  values: Float64Array;
}

function knownRows(c: Conditioning, D: number, n: number): KnownRows | undefined {
  if (c.knownDims) {
    const mask = new Float32Array(D);
    const values = new Float64Array(D);
    for (const [j, v] of c.knownDims) {
      if (j >= D) throw new UsageError(`--known-dims: index ${j} is out of range, the samples have ${D} values (indices 0..${D - 1})`);
      mask[j] = 1;
      values[j] = v;
    }
    return { rows: 1, mask, values };
  }
  if (!c.knownFiles) return undefined;
  const { known, mask, knownFile, maskFile } = c.knownFiles;
  for (const [flag, file, ds] of [['known', knownFile, known], ['mask', maskFile, mask]] as const) {
    if (ds.shape[0] !== D) throw new UsageError(`--${flag} ${file}: rows have ${ds.shape[0]} values, the samples have ${D}`);
    if (ds.n !== 1 && ds.n !== n) throw new UsageError(`--${flag} ${file}: has ${ds.n} rows, expected 1 (shared by every sample) or one per sample (--n ${n})`);
  }
  const rows = Math.max(known.n, mask.n);
  const spread = (x: Float32Array) => Float32Array.from({ length: rows * D }, (_v, i) => x[i % x.length]);
  return { rows, mask: spread(mask.x), values: Float64Array.from(spread(known.x)) };
}

/**
 * Checks the conditioning flags against a source before any tensor exists: the classes
 * (against the oracle's mixture or the checkpoint's number of classes: undefined for a model that
 * is not class-conditional) and the known coordinates (against D values per sample and --n).
 * The same UsageErrors as conditionSource gives later, so they come before the backend line.
 */
export function checkConditioning(c: Conditioning, source: { describe: string; D: number; n: number; mixture?: GaussianMixture; numClasses?: number }): void {
  for (const label of c.labels ?? []) {
    if (source.mixture) conditionOnClass(source.mixture, label, '--class');
    else if (source.numClasses === undefined) throw new UsageError(`--class: ${source.describe} is not a class-conditional model (sampling a class needs a model trained with --conditional)`);
    else if (label >= source.numClasses) throw new UsageError(`--class: ${source.describe} has classes 0..${source.numClasses - 1}, got ${label}`);
  }
  knownRows(c, source.D, source.n);
}

/**
 * Applies the conditioning to a loaded score source (which it takes over and disposes):
 * --class C [--guidance W]: the score guidedScore(s, C, W) = (1 + W) s(x, t, C) - W s(x, t, none)
 * with s the oracle's exact class score or the source's `conditional` score (a mixture without
 * classes or without class C, a class out of the model's range and a model that is not
 * class-conditional are UsageErrors naming --class); --known-dims / --known --mask: the
 * imputation for integrate (values mapped to the model's coordinates), with the known coordinates
 * of the returned points set to the given values. For the oracle, `reference` draws the exact
 * conditional: the class's mixture, then p(x_U | x_K) per known row; for a checkpoint with known
 * values there is no reference (give --reference).
 */
export function conditionSource(source: ScoreSource, c: Conditioning, n: number): ConditionedSource {
  const D = source.sampleShape.reduce((a, b) => a * b, 1);
  const owned: { dispose(): void }[] = [];
  try {
    const mix = source.mixture;
    let score = source.score;
    let base = mix;
    const notes: string[] = [];
    if (c.label !== undefined) {
      if (mix) {
        base = conditionOnClass(mix, c.label, '--class');
        const conditional = mixtureConditionalScore(source.sde, mix);
        owned.push(conditional);
        score = guidedScore(conditional, c.label, c.guidance);
      } else if (source.conditional) {
        const k = source.conditional.numClasses;
        if (c.label >= k) throw new UsageError(`--class: ${source.describe} has classes 0..${k - 1}, got ${c.label}`);
        score = guidedScore(source.conditional.score, c.label, c.guidance);
      } else {
        throw new UsageError(`--class: ${source.describe} is not a class-conditional model (sampling a class needs a model trained with --conditional)`);
      }
      notes.push(`class ${c.label}${c.guidance > 0 ? ` (guidance ${c.guidance})` : ''}`);
    }
    const known = knownRows(c, D, n);
    let impute: Imputation | undefined;
    let toPoints = source.toPoints;
    let reference = source.reference;
    if (c.label !== undefined && !base) {
      // A class-conditional checkpoint: its data's reference would mix every class (give --reference).
      reference = undefined;
    } else if (c.label !== undefined) {
      const b = base!;
      reference = (count, seed) => {
        const draw = sampleMixture(b, count, seed);
        const points = draw.x.arraySync() as Points;
        draw.x.dispose();
        return points;
      };
    }
    if (known) {
      const raw = Float32Array.from(known.values);
      const model = source.toModel ? source.toModel(raw) : raw;
      const shape = known.rows === 1 ? source.sampleShape : [n, ...source.sampleShape];
      impute = { values: tf.tensor(model, shape, 'float32'), mask: tf.tensor(known.mask, shape, 'float32') };
      owned.push({ dispose: () => tf.dispose([impute!.values, impute!.mask]) });
      const list: KnownCoordinate[][] = Array.from({ length: known.rows }, (_r, r) => {
        const row: KnownCoordinate[] = [];
        for (let j = 0; j < D; j++) if (known.mask[r * D + j] === 1) row.push([j, known.values[r * D + j]]);
        return row;
      });
      const inner = source.toPoints;
      toPoints = (x) => {
        const points = inner(x);
        points.forEach((p, i) => {
          for (const [j, v] of list[i % known.rows]) p[j] = v;
        });
        return points;
      };
      reference = undefined;
      if (base) {
        const b = base;
        const samplers = list.map((row) => givenKnownSampler(b, row));
        reference = (count, seed) => {
          const u = uniformRng(seed);
          const z = normalRng(seed + 7919);
          return Array.from({ length: count }, (_v, i) => samplers[i % known.rows](u, z));
        };
      }
      notes.push(c.knownDims ? `${c.knownDims.length} known coordinate${c.knownDims.length === 1 ? '' : 's'}` : `known ${c.knownFiles!.knownFile}, mask ${c.knownFiles!.maskFile}`);
    }
    return {
      ...source,
      score,
      toPoints,
      reference,
      describe: notes.length ? `${source.describe}, ${notes.join(', ')}` : source.describe,
      dispose: () => {
        owned.forEach((o) => o.dispose());
        source.dispose();
      },
      ...(impute ? { impute } : {}),
    };
  } catch (e) {
    owned.forEach((o) => o.dispose());
    source.dispose();
    throw e;
  }
}
