import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { Points } from '../eval/metrics.js';
import { givenKnownSampler, mixtureConditionalScore, type KnownCoordinate } from '../oracle/conditional.js';
import { conditionOnClass, type GaussianMixture } from '../oracle/mixture.js';
import { sampleMixture } from '../oracle/sample.js';
import { normalRng, uniformRng } from '../random.js';
import type { ScoreFn } from '../sde/types.js';
import { guidedScore } from './guidance.js';
import { imputationOf, knownCoordinatesByRow, pinnedPoints, rowsFromCoordinates, rowsFromFiles, type KnownFiles, type KnownRows } from './known-values.js';
import type { ConditionedSource, ScoreSource } from './score-source.js';

/** What to condition on, as plain data: a class with a guidance weight, and/or known values (coordinates or files). */
export interface Conditioning {
  label?: number;
  /** Every class asked for, in order (one entry for a single class); conditionSource reads `label`. */
  labels?: number[];
  /** Classifier-free guidance weight W >= 0 (0: plain conditional sampling). */
  guidance: number;
  /** Coordinates fixed in every sample, (index, value) pairs. */
  knownDims?: KnownCoordinate[];
  /** Known values and mask, read from files. */
  knownFiles?: KnownFiles;
}

/** The known values of `c` as rows for n samples of D values (undefined without any), checked. */
export function knownRows(c: Conditioning, D: number, n: number): KnownRows | undefined {
  if (c.knownDims) return rowsFromCoordinates(c.knownDims, D);
  return c.knownFiles ? rowsFromFiles(c.knownFiles, D, n) : undefined;
}

/** The UsageError for a class a model does not have (or a model without classes); undefined when the label is fine. */
function modelClassError(describe: string, numClasses: number | undefined, label: number): UsageError | undefined {
  if (numClasses === undefined) return new UsageError(`--class: ${describe} is not a class-conditional model (sampling a class needs a model trained with --conditional)`);
  return label >= numClasses ? new UsageError(`--class: ${describe} has classes 0..${numClasses - 1}, got ${label}`) : undefined;
}

/**
 * Checks a conditioning against a source before any tensor exists: the classes (against the
 * oracle's mixture or the model's number of classes: undefined for a model that is not
 * class-conditional) and the known values (against D values per sample and n samples).
 * The same UsageErrors as conditionSource gives later.
 */
export function checkConditioning(c: Conditioning, source: { describe: string; D: number; n: number; mixture?: GaussianMixture; numClasses?: number }): void {
  for (const label of c.labels ?? []) {
    if (source.mixture) conditionOnClass(source.mixture, label, '--class');
    else {
      const error = modelClassError(source.describe, source.numClasses, label);
      if (error) throw error;
    }
  }
  knownRows(c, source.D, source.n);
}

/** Independent draws of a mixture, as rows. */
function mixtureReference(mix: GaussianMixture): (count: number, seed: number) => Points {
  return (count, seed) => {
    const draw = sampleMixture(mix, count, seed);
    const points = draw.x.arraySync() as Points;
    draw.x.dispose();
    return points;
  };
}

/**
 * The class-c score with guidance W: guidedScore(s, c, W) = (1 + W) s(x, t, c) - W s(x, t, none),
 * s the oracle's exact class score (then `classMixture` = p(x | c), the mixture's components of
 * class c) or the model's conditional score. `owned` holds what the caller must dispose.
 */
function classScore(source: ScoreSource, label: number, guidance: number, owned: { dispose(): void }[]): { score: ScoreFn; classMixture?: GaussianMixture } {
  const mix = source.mixture;
  if (mix) {
    const classMixture = conditionOnClass(mix, label, '--class');
    const conditional = mixtureConditionalScore(source.sde, mix);
    owned.push(conditional);
    return { score: guidedScore(conditional, label, guidance), classMixture };
  }
  const error = modelClassError(source.describe, source.conditional?.numClasses, label);
  if (error) throw error;
  return { score: guidedScore(source.conditional!.score, label, guidance) };
}

/**
 * Inpainting on a source: the imputation (owned, to dispose), toPoints with the known values
 * pinned, and for a known mixture the exact conditional reference p(x_U | x_K) per known row.
 */
function inpainting(source: ScoreSource, known: KnownRows, n: number, mixture: GaussianMixture | undefined, owned: { dispose(): void }[]): Pick<ConditionedSource, 'impute' | 'toPoints' | 'reference'> {
  const D = source.sampleShape.reduce((a, b) => a * b, 1);
  const impute = imputationOf(known, source.sampleShape, n, source.toModel);
  owned.push({ dispose: () => tf.dispose([impute.values, impute.mask]) });
  const byRow = knownCoordinatesByRow(known, D);
  if (!mixture) return { impute, toPoints: pinnedPoints(source.toPoints, byRow), reference: undefined };
  const samplers = byRow.map((row) => givenKnownSampler(mixture, row));
  const reference = (count: number, seed: number) => {
    const u = uniformRng(seed);
    const z = normalRng(seed + 7919);
    return Array.from({ length: count }, (_v, i) => samplers[i % known.rows](u, z));
  };
  return { impute, toPoints: pinnedPoints(source.toPoints, byRow), reference };
}

/** The notes conditionSource adds to a source's description: 'class C (guidance W)', 'K known coordinates' or the files. */
function conditioningNotes(c: Conditioning): string[] {
  const notes: string[] = [];
  if (c.label !== undefined) notes.push(`class ${c.label}${c.guidance > 0 ? ` (guidance ${c.guidance})` : ''}`);
  if (c.knownDims) notes.push(`${c.knownDims.length} known coordinate${c.knownDims.length === 1 ? '' : 's'}`);
  else if (c.knownFiles) notes.push(`known ${c.knownFiles.knownFile}, mask ${c.knownFiles.maskFile}`);
  return notes;
}

/**
 * A score source conditioned on `c` for n samples (it takes the source over and disposes it):
 * a class C with guidance W: the score guidedScore(s, C, W) = (1 + W) s(x, t, C) - W s(x, t, none),
 * s the oracle's exact class score or the source's `conditional` score (a mixture without
 * classes or without C, a class out of the model's range and a model that is not
 * class-conditional are UsageErrors naming --class); known values: the imputation for integrate
 * (values mapped to the model's coordinates), with the known coordinates of the returned points
 * set to the given values. For an oracle, `reference` draws the exact conditional: the class's
 * mixture, then p(x_U | x_K) per known row; for a model with a class or known values there is none.
 */
export function conditionSource(source: ScoreSource, c: Conditioning, n: number): ConditionedSource {
  const owned: { dispose(): void }[] = [];
  try {
    const D = source.sampleShape.reduce((a, b) => a * b, 1);
    const byClass = c.label !== undefined ? classScore(source, c.label, c.guidance, owned) : undefined;
    // The data of a class: the oracle's class mixture; a class-conditional model's reference would mix every class.
    const mixture = byClass ? byClass.classMixture : source.mixture;
    const known = knownRows(c, D, n);
    const inpainted = known ? inpainting(source, known, n, mixture, owned) : undefined;
    const reference = inpainted ? inpainted.reference : byClass ? (mixture ? mixtureReference(mixture) : undefined) : source.reference;
    const notes = conditioningNotes(c);
    return {
      ...source,
      score: byClass?.score ?? source.score,
      toPoints: inpainted?.toPoints ?? source.toPoints,
      reference,
      describe: notes.length ? `${source.describe}, ${notes.join(', ')}` : source.describe,
      dispose: () => {
        owned.forEach((o) => o.dispose());
        source.dispose();
      },
      ...(inpainted ? { impute: inpainted.impute } : {}),
    };
  } catch (e) {
    owned.forEach((o) => o.dispose());
    source.dispose();
    throw e;
  }
}
