import type * as tf from '@tensorflow/tfjs';
import type { Points } from '../src/eval/metrics.js';
import { denormalize, normalize } from '../src/data/dataset.js';
import { isToyName, toyRaw } from '../src/data/toy.js';
import { UsageError } from '../src/errors.js';
import { isCheckpoint, loadCheckpoint } from '../src/models/checkpoint.js';
import { loadMixture, mixtureDim, sampleMixture } from '../src/oracle/index.js';
import { mixtureScore } from '../src/oracle/score.js';
import { makeSDE } from '../src/sde/registry.js';
import type { ScoreSource } from '../src/conditioning/score-source.js';
import { sdeConfigFromArgs } from './common.js';

/** What the sampling commands sample (declared in src/conditioning, where conditionSource builds on it). */
export type { ScoreSource };

/** Exactly one of --checkpoint and --oracle, checked before any work. */
export function checkSourceFlags(argv: Record<string, unknown>): void {
  const given = ['checkpoint', 'oracle'].filter((k) => argv[k] !== undefined);
  if (given.length !== 1) throw new UsageError(given.length === 0 ? 'give --checkpoint DIR or --oracle MIX.json' : '--checkpoint and --oracle exclude each other: give one');
}

/** Rows of a [n, ...] tensor, flattened per sample. */
function rows(x: tf.Tensor): Points {
  return (x.reshape([x.shape[0], -1]).arraySync() as number[][]);
}

/** The oracle: an exact Gaussian-mixture score under the SDE the SDE flags describe. */
function oracleSource(argv: Record<string, unknown>): ScoreSource {
  const file = String(argv.oracle);
  const mix = loadMixture(file);
  const sde = makeSDE(sdeConfigFromArgs(argv));
  const score = mixtureScore(sde, mix);
  return {
    sde,
    score,
    sampleShape: [mixtureDim(mix)],
    toPoints: rows,
    reference: (n, seed) => {
      const draw = sampleMixture(mix, n, seed);
      const points = rows(draw.x);
      draw.x.dispose();
      return points;
    },
    describe: `oracle ${file}`,
    dispose: () => score.dispose(),
    mixture: mix,
  };
}

/**
 * A trained model: its EMA score, in the normalized space it was trained in; samples are mapped
 * back. A class-conditional model (trained with --conditional) also gives `conditional`:
 * s(x, t, c) with label c for the whole batch (null: the null label), and its plain `score` is
 * the unconditional one, s(x, t, null). Each call is one network evaluation.
 */
function checkpointSource(dir: string): ScoreSource {
  if (!isCheckpoint(dir)) throw new UsageError(`--checkpoint: '${dir}' holds no checkpoint (config.json and weights written by sde train)`);
  // The data section of the very config.json the weights were loaded with (a training run may
  // save a newer checkpoint meanwhile; loadCheckpoint reads one whole checkpoint).
  const ckpt = loadCheckpoint(dir);
  const { data } = ckpt.config;
  const d = data.shape.reduce((a, b) => a * b, 1);
  const toPoints = (x: tf.Tensor): Points => {
    const raw = denormalize(x.dataSync() as Float32Array, data.normalization, d);
    return Array.from({ length: raw.length / d }, (_, i) => Array.from(raw.subarray(i * d, (i + 1) * d)));
  };
  const source = data.source;
  return {
    sde: ckpt.sde,
    score: ckpt.scoreFn,
    sampleShape: data.shape,
    toPoints,
    // For a built-in 2-D set, fresh draws of the generator (in its natural coordinates) are the reference.
    reference: isToyName(source)
      ? (n, seed) => {
          const raw = toyRaw(source, n, seed);
          return Array.from({ length: n }, (_, i) => [raw[2 * i], raw[2 * i + 1]]);
        }
      : undefined,
    describe: `checkpoint ${dir} (step ${ckpt.step}, ${source})`,
    dispose: () => ckpt.dispose(),
    toModel: (raw) => normalize(raw, data.normalization, d),
    ...(ckpt.model.conditionalScore && ckpt.model.numClasses !== undefined
      ? { conditional: { score: ckpt.model.conditionalScore, numClasses: ckpt.model.numClasses } }
      : {}),
  };
}

/** The score source the flags name (--oracle or --checkpoint). */
export function loadScoreSource(argv: Record<string, unknown>): ScoreSource {
  checkSourceFlags(argv);
  if (argv.oracle !== undefined) return oracleSource(argv);
  return checkpointSource(String(argv.checkpoint));
}
