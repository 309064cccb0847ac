import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { loadMnist, MNIST_SIZE, MNIST_TEST_COUNT } from '../data/mnist.js';
import { mixSeed, Rng } from '../random.js';
import { UsageError } from '../errors.js';
import { removeStaleTemps, syncDir, writeFileAtomic } from '../io/atomic.js';
import { conv3x3, dense } from '../models/layers.js';
import { checkParams, disposeParams, initParams, toVariables, type ParamSpec, type Params } from '../models/params.js';
import { checkWeightsEntry, readWeights, writeWeights, type WeightsEntry } from '../models/weights-io.js';
import type { Dataset } from '../data/dataset.js';
import { Adam } from '../train/adam.js';
import { TrainLogger } from '../train/logger.js';
import { runSteps } from '../train/run-steps.js';
import { optimiserStep } from '../train/step.js';

/*
 * A small digit classifier for judging samples of an MNIST model (does `--class C` give C?):
 *   conv3x3 1->16, ReLU, 2x2 max-pool (14x14), conv3x3 16->32, ReLU, 2x2 max-pool (7x7),
 *   dense 1568->64, ReLU, dense 64->10 (logits),
 * trained with softmax cross-entropy and the project's Adam on the `mnist` package's digits in
 * [-1, 1] (the split of src/data/mnist.ts: 9,000 train, the last 1,000 of its fixed order
 * held out), with random shifts of up to 2 pixels as augmentation. Everything is seeded.
 *
 * Saved as a directory: config.json (kind 'classifier', architecture, input shape and range,
 * training settings, held-out accuracy, and the weights file's size and sha256) and the weights
 * file written by weights-io (temporary name + rename), so a damaged file is caught on load.
 */

export const CLASSIFIER_FORMAT = 'sde-classifier';
export const CLASSIFIER_VERSION = 1;
export const NUM_CLASSES = 10;
const PIXELS = MNIST_SIZE * MNIST_SIZE;

export interface ClassifierArch {
  /** Channels of the two convolutions. */
  channels: [number, number];
  /** Width of the hidden dense layer. */
  hidden: number;
}

export const DEFAULT_ARCH: ClassifierArch = { channels: [16, 32], hidden: 64 };

export interface ClassifierTrainOptions {
  iters?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  /** Largest random shift (pixels, each axis) applied to training images; 0 turns it off. */
  shift?: number;
  /** Train on only the first n training digits (tests). */
  nTrain?: number;
  /** Evaluate on only the first n held-out digits (tests). */
  nTest?: number;
  arch?: ClassifierArch;
  /** Called every `every` steps with the mean loss since the last call. */
  onProgress?: (info: { step: number; total: number; loss: number; lr: number; elapsedSec: number }) => void;
  progressEvery?: number;
}

export const DEFAULT_CLASSIFIER_TRAINING = { iters: 2000, batch: 64, lr: 2e-3, seed: 0, shift: 2 } as const;

export interface ClassifierTraining {
  data: 'mnist';
  iters: number;
  batch: number;
  lr: number;
  seed: number;
  shift: number;
  trainN: number;
  seconds: number;
  stepsPerSec: number;
}

export interface ClassifierConfig {
  format: typeof CLASSIFIER_FORMAT;
  version: typeof CLASSIFIER_VERSION;
  kind: 'classifier';
  /** Per-image shape [H, W, C]. */
  shape: number[];
  classes: number;
  /** Pixel range the network takes (MNIST intensities p mapped to 2 p - 1). */
  range: [number, number];
  arch: ClassifierArch;
  training: ClassifierTraining;
  /** Fraction of the held-out digits labeled correctly. */
  accuracy: number;
  heldOut: { n: number; correct: number; split: string };
  weights?: WeightsEntry;
}

export interface Classifier {
  config: ClassifierConfig;
  params: Params;
  dispose(): void;
}

function specs(arch: ClassifierArch): ParamSpec[] {
  const [c1, c2] = arch.channels;
  const flat = (MNIST_SIZE / 4) * (MNIST_SIZE / 4) * c2;
  const p = (name: string, shape: number[], fanIn: number, fanOut: number): ParamSpec[] => [
    { name: `${name}/w`, shape, init: { kind: 'glorot', fanIn, fanOut }, trainable: true },
    { name: `${name}/b`, shape: [shape[shape.length - 1]], init: { kind: 'zeros' }, trainable: true },
  ];
  return [
    ...p('conv1', [3, 3, 4, c1], 36, 9 * c1),
    ...p('conv2', [3, 3, c1, c2], 9 * c1, 9 * c2),
    ...p('dense1', [flat, arch.hidden], flat, arch.hidden),
    ...p('dense2', [arch.hidden, NUM_CLASSES], arch.hidden, NUM_CLASSES),
  ];
}

/** Logits [B, 10] of images x [B, 28, 28, 1] in [-1, 1]. */
export function classifierLogits(params: Params, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const B = x.shape[0] as number;
    const S = MNIST_SIZE / 2;
    // Space-to-depth: each 2x2 block of pixels becomes 4 channels of a 14x14 image.
    let h = x.reshape([B, S, 2, S, 2]).transpose([0, 1, 3, 2, 4]).reshape([B, S, S, 4]) as tf.Tensor4D;
    h = tf.relu(conv3x3(h, params['conv1/w'], params['conv1/b']));
    h = tf.maxPool(tf.relu(conv3x3(h, params['conv2/w'], params['conv2/b'])), 2, 2, 'valid');
    const flat = h.reshape([B, -1]);
    const hidden = tf.relu(dense(flat, params['dense1/w'], params['dense1/b']));
    return dense(hidden, params['dense2/w'], params['dense2/b']);
  });
}

/** Mean softmax cross-entropy of logits [B, 10] against integer labels. */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const onehot = tf.oneHot(labels, NUM_CLASSES);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** Rows per forward pass when predicting. */
const PREDICT_CHUNK = 500;

/**
 * Predicted labels of n images (values in [-1, 1], n * 784 of them, row-major), in chunks.
 * Each image's label depends only on that image.
 */
export function predictLabels(params: Params, x: Float32Array, n = x.length / PIXELS): Int32Array {
  if (!(Number.isInteger(n) && x.length === n * PIXELS)) throw new Error(`predictLabels: expected n * ${PIXELS} values, got ${x.length}`);
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += PREDICT_CHUNK) {
    const m = Math.min(PREDICT_CHUNK, n - start);
    const labels = tf.tidy(() => {
      const xb = tf.tensor(x.subarray(start * PIXELS, (start + m) * PIXELS), [m, MNIST_SIZE, MNIST_SIZE, 1], 'float32');
      return tf.argMax(classifierLogits(params, xb), 1);
    });
    out.set(labels.dataSync() as Int32Array, start);
    labels.dispose();
  }
  return out;
}

/** Fraction of images whose predicted label equals the given one, and the count. */
export function evaluateAccuracy(params: Params, x: Float32Array, labels: Int32Array): { accuracy: number; correct: number; n: number } {
  const predicted = predictLabels(params, x, labels.length);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return { accuracy: correct / labels.length, correct, n: labels.length };
}

/** Copies image `src` of `from` into slot `dst` of `to`, shifted by (dy, dx) pixels, filling with -1. */
function shiftedCopy(from: Float32Array, src: number, to: Float32Array, dst: number, dy: number, dx: number): void {
  const S = MNIST_SIZE;
  const o = dst * PIXELS;
  to.fill(-1, o, o + PIXELS);
  for (let y = Math.max(0, dy); y < Math.min(S, S + dy); y++) {
    const sy = y - dy;
    for (let x = Math.max(0, dx); x < Math.min(S, S + dx); x++) to[o + y * S + x] = from[src * PIXELS + sy * S + (x - dx)];
  }
}

/** The classifier's training settings: the options over DEFAULT_CLASSIFIER_TRAINING. */
function classifierSettings(options: ClassifierTrainOptions) {
  const d = DEFAULT_CLASSIFIER_TRAINING;
  return { iters: options.iters ?? d.iters, batch: options.batch ?? d.batch, lr: options.lr ?? d.lr, seed: options.seed ?? d.seed, shift: options.shift ?? d.shift };
}

/**
 * Learning rate of step n of `iters`: constant for the first half, then a linear decay to 10% of
 * it, lr_n = lr max(0.1, 2 (1 - n / iters)) (Adam's warm-up still applies to the first 100 steps).
 */
function classifierRate(lr: number, n: number, iters: number): number {
  return lr * (n < iters / 2 ? 1 : Math.max(0.1, 2 * (1 - n / iters)));
}

/**
 * Fills the batch of step n from a PRNG seeded by (seed, n): digits drawn uniformly, each shifted
 * by up to `shift` pixels on each axis.
 */
function drawDigits(train: Dataset, seed: number, shift: number, n: number, xb: Float32Array, yb: Int32Array): void {
  const rng = new Rng(mixSeed(seed, n));
  for (let i = 0; i < yb.length; i++) {
    const k = rng.int(train.n);
    yb[i] = train.labels![k];
    const dy = shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    const dx = shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    shiftedCopy(train.x, k, xb, i, dy, dx);
  }
}

/**
 * Trains a classifier on the MNIST training split (softmax cross-entropy, the shared optimiser
 * step and step loop of src/train) and measures it on the held-out split. The caller disposes
 * the result.
 */
export async function trainClassifier(options: ClassifierTrainOptions = {}): Promise<Classifier> {
  const { iters, batch, lr, seed, shift } = classifierSettings(options);
  const arch = options.arch ?? DEFAULT_ARCH;
  const train = loadMnist({ split: 'train', ...(options.nTrain !== undefined ? { n: options.nTrain } : {}) });
  const test = loadMnist({ split: 'test', ...(options.nTest !== undefined ? { n: options.nTest } : {}) });
  const paramSpecs = specs(arch);
  const init = initParams(paramSpecs, seed);
  const vars = toVariables(paramSpecs, init);
  disposeParams(init);
  const adam = new Adam({ lr, warmup: 100, gradClip: 5 }, vars);
  const logger = new TrainLogger(0);
  const xb = new Float32Array(batch * PIXELS);
  const yb = new Int32Array(batch);
  try {
    await runSteps({
      from: 0,
      iters,
      logEvery: options.progressEvery ?? 100,
      step: (n) => {
        adam.config.lr = classifierRate(lr, n, iters);
        drawDigits(train, seed, shift, n, xb, yb);
        const x = tf.tensor(xb, [batch, MNIST_SIZE, MNIST_SIZE, 1], 'float32');
        const y = tf.tensor1d(yb, 'int32');
        const { loss, gradNorm } = optimiserStep({ trainVars: vars, adam }, () => crossEntropy(classifierLogits(vars, x), y), n);
        tf.dispose([x, y]);
        logger.add(loss, gradNorm, adam.learningRate(n));
      },
      log: async (done) => {
        // The last line's read also waits for the last update before the clock stops.
        const entry = await logger.line(done, '');
        if (entry) options.onProgress?.({ step: done, total: iters, loss: entry.loss, lr: entry.lr, elapsedSec: entry.elapsedSec });
      },
    });
  } finally {
    logger.dispose();
    adam.dispose();
  }
  const seconds = logger.elapsedSec();
  const params: Params = {};
  for (const [k, v] of Object.entries(vars)) {
    params[k] = tf.clone(v);
    v.dispose();
  }
  const held = evaluateAccuracy(params, test.x, test.labels!);
  const config: ClassifierConfig = {
    format: CLASSIFIER_FORMAT,
    version: CLASSIFIER_VERSION,
    kind: 'classifier',
    shape: [MNIST_SIZE, MNIST_SIZE, 1],
    classes: NUM_CLASSES,
    range: [-1, 1],
    arch,
    training: { data: 'mnist', iters, batch, lr, seed, shift, trainN: train.n, seconds, stepsPerSec: iters / seconds },
    accuracy: held.accuracy,
    heldOut: {
      n: held.n,
      correct: held.correct,
      split: `the last ${MNIST_TEST_COUNT} digits of the mnist package in src/data/mnist.ts's fixed order${held.n < MNIST_TEST_COUNT ? ` (first ${held.n} of them)` : ''}`,
    },
  };
  return { config, params, dispose: () => disposeParams(params) };
}

/** Writes a classifier to dir (created if needed): weights file first, then config.json. */
export function saveClassifier(dir: string, classifier: Classifier): void {
  fs.mkdirSync(dir, { recursive: true });
  const weights = writeWeights(dir, 'classifier', classifier.params, classifier.config.training.iters);
  const config: ClassifierConfig = { ...classifier.config, weights };
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const f of fs.readdirSync(dir)) {
    if (/^classifier-\d+-[0-9a-f]+\.bin$/.test(f) && f !== weights.file) fs.rmSync(path.join(dir, f), { force: true });
  }
  removeStaleTemps(dir);
  syncDir(dir);
}

/** True when dir holds a classifier's config.json. */
export function isClassifierDir(dir: string): boolean {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return false;
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { kind?: unknown }).kind === 'classifier';
  } catch {
    return false;
  }
}

/** Loads a classifier saved by saveClassifier; problems are UsageErrors naming the flag or file. */
export function loadClassifier(dir: string, flag = '--classifier'): Classifier {
  if (!fs.existsSync(dir)) throw new UsageError(`${flag}: '${dir}' does not exist (train one with sde classify --train --out ${dir})`);
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${flag}: '${dir}' is a file; a classifier is a directory written by sde classify --train`);
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new UsageError(`${flag}: '${dir}' holds no classifier (no config.json)`);
  let config: ClassifierConfig;
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (config?.kind !== 'classifier' || config.format !== CLASSIFIER_FORMAT) throw new UsageError(`${file}: not a classifier (kind '${String(config?.kind)}'); train one with sde classify --train`);
  if (config.version !== CLASSIFIER_VERSION) throw new UsageError(`${file}: classifier version ${String(config.version)} is not supported (expected ${CLASSIFIER_VERSION})`);
  if (String(config.shape) !== String([MNIST_SIZE, MNIST_SIZE, 1]) || config.classes !== NUM_CLASSES) throw new UsageError(`${file}: expected a 28x28x1 classifier of 10 classes`);
  const arch = config.arch;
  const archOk =
    Array.isArray(arch?.channels) && arch.channels.length === 2 && [...arch.channels, arch.hidden].every((v) => Number.isInteger(v) && v > 0 && v <= 4096);
  if (!archOk) throw new UsageError(`${file}: bad arch section`);
  const entry = checkWeightsEntry(config.weights, `${file}: weights`);
  const params = readWeights(dir, entry);
  try {
    checkParams(specs(arch), params, path.join(dir, entry.file));
  } catch (e) {
    disposeParams(params);
    throw new UsageError((e as Error).message);
  }
  return { config, params, dispose: () => disposeParams(params) };
}
