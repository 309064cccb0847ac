import fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { parseCsv } from '../../src/data/csv.js';
import { MNIST_SIZE } from '../../src/data/mnist.js';
import {
  DEFAULT_CLASSIFIER_TRAINING,
  isClassifierDir,
  loadClassifier,
  NUM_CLASSES,
  predictLabels,
  saveClassifier,
  trainClassifier,
} from '../../src/eval/classifier.js';
import { UsageError } from '../../src/errors.js';
import { createProgressReporter } from '../../src/train/progress.js';
import { checkOutputDir, writingOutput } from '../output-paths.js';
import { backendFromArgs, emit, withCommonOptions } from '../common.js';
import { integerInRange, oneOf, positiveNumber } from '../validate.js';

const PIXELS = MNIST_SIZE * MNIST_SIZE;
const RANGES = ['auto', 'unit', 'signed'] as const;
type PixelRange = (typeof RANGES)[number];

/** Flags of each mode: given in the other mode they are an error. */
const TRAIN_ONLY = ['out', 'iters', 'batch', 'lr', 'seed', 'n-data'];
const CLASSIFY_ONLY = ['classifier', 'samples', 'class', 'range'];

/** Largest CSV of samples read (bytes): about 100,000 images written by sde sample. */
const MAX_SAMPLES_BYTES = 2 ** 30;

function given(argv: Record<string, unknown>, flag: string): boolean {
  return argv[flag] !== undefined;
}

/**
 * Samples in the classifier's [-1, 1]: `unit` rows hold intensities in [0, 1] (what sde sample
 * writes for a model trained on --data mnist: it maps samples back with p = 0.5 + 0.5 x),
 * `signed` rows are already in [-1, 1]; `auto` takes the median pixel (MNIST digits are mostly
 * background: 0 in unit, -1 in signed space) and picks signed below -0.5.
 */
function toSigned(x: Float32Array, range: PixelRange): { x: Float32Array; range: 'unit' | 'signed' } {
  let chosen: 'unit' | 'signed';
  if (range === 'auto') {
    const sorted = Float32Array.from(x).sort();
    chosen = sorted[Math.floor(sorted.length / 2)] < -0.5 ? 'signed' : 'unit';
  } else {
    chosen = range;
  }
  if (chosen === 'signed') return { x, range: chosen };
  return { x: x.map((p) => 2 * p - 1), range: chosen };
}

function percent(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

async function trainMode(argv: Record<string, unknown>): Promise<void> {
  for (const flag of CLASSIFY_ONLY) if (given(argv, flag)) throw new UsageError(`--${flag}: only when classifying samples (--classifier DIR --samples FILE.csv), not with --train`);
  if (!given(argv, 'out')) throw new UsageError('--out: required with --train (the directory to write the classifier to)');
  const d = DEFAULT_CLASSIFIER_TRAINING;
  const iters = given(argv, 'iters') ? integerInRange('iters', argv.iters, 1, 10_000_000) : d.iters;
  const batch = given(argv, 'batch') ? integerInRange('batch', argv.batch, 1, 4096) : d.batch;
  const lr = given(argv, 'lr') ? positiveNumber('lr', argv.lr) : d.lr;
  if (lr >= 1) throw new UsageError(`--lr: expected a learning rate below 1, got ${lr}`);
  const seed = given(argv, 'seed') ? integerInRange('seed', argv.seed, 0, 2 ** 32 - 1) : d.seed;
  const nTrain = given(argv, 'n-data') ? integerInRange('n-data', argv['n-data'], 1, 10_000_000) : undefined;
  const out = String(argv.out);
  if (out.trim() === '') throw new UsageError('--out: expected a directory name, got an empty string');
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new UsageError(`--out: '${out}' is a file, expected a directory`);
    if (fs.readdirSync(out).length > 0 && !isClassifierDir(out)) throw new UsageError(`--out: '${out}' exists, is not empty and holds no classifier; choose another directory`);
  }
  // Writable (or its parent is, for a new directory): checked before the training.
  checkOutputDir('out', out);
  const backend = await backendFromArgs(argv);
  const progress = createProgressReporter(process.stderr);
  const every = Math.max(1, Math.min(100, Math.round(iters / 20)));
  const classifier = await trainClassifier({
    iters,
    batch,
    lr,
    seed,
    ...(nTrain !== undefined ? { nTrain } : {}),
    progressEvery: every,
    onProgress: (p) => {
      const itPerSec = p.step / p.elapsedSec;
      const info = { ...p, itPerSec, etaSec: (p.total - p.step) / itPerSec };
      if (p.step === p.total) progress.finish(info);
      else progress.update(info);
    },
  });
  writingOutput('out', out, () => saveClassifier(out, classifier));
  const { config } = classifier;
  classifier.dispose();
  const summary = {
    out,
    iters,
    batch,
    lr,
    seed,
    trainN: config.training.trainN,
    heldOutN: config.heldOut.n,
    heldOutAccuracy: config.accuracy,
    seconds: config.training.seconds,
    stepsPerSec: config.training.stepsPerSec,
    backend: backend.backend,
  };
  emit(argv, summary, () =>
    `trained a digit classifier on ${summary.trainN} mnist digits: ${iters} steps in ${summary.seconds.toFixed(1)} s (${summary.stepsPerSec.toFixed(1)} steps/s); ` +
      `held-out accuracy ${percent(summary.heldOutAccuracy)} (${config.heldOut.correct}/${summary.heldOutN}) -> ${out}`,
  );
}

async function classifyMode(argv: Record<string, unknown>): Promise<void> {
  for (const flag of TRAIN_ONLY) if (given(argv, flag)) throw new UsageError(`--${flag}: only with --train`);
  if (!given(argv, 'classifier')) throw new UsageError('--classifier: required (a directory written by sde classify --train), or pass --train to train one');
  if (!given(argv, 'samples')) throw new UsageError('--samples: required (a CSV of 28x28 images, one a row, as sde sample writes for an mnist model)');
  const classes = given(argv, 'class') ? parseClasses(argv.class) : undefined;
  const range = oneOf('range', argv.range ?? 'auto', RANGES);
  const dir = String(argv.classifier);
  if (!fs.existsSync(dir)) throw new UsageError(`--classifier: '${dir}' does not exist (train one with sde classify --train --out ${dir})`);
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`--classifier: '${dir}' is a file; a classifier is a directory written by sde classify --train`);
  if (!isClassifierDir(dir)) throw new UsageError(`--classifier: '${dir}' holds no classifier (its config.json is missing or not of kind 'classifier')`);
  const file = String(argv.samples);
  if (!fs.existsSync(file)) throw new UsageError(`--samples: '${file}' does not exist`);
  const stat = fs.statSync(file);
  if (stat.isDirectory()) throw new UsageError(`--samples: '${file}' is a directory, expected a CSV file`);
  if (stat.size > MAX_SAMPLES_BYTES) throw new UsageError(`--samples: '${file}' is larger than ${MAX_SAMPLES_BYTES / 2 ** 20} MiB`);
  const data = parseCsv(fs.readFileSync(file, 'utf8'), file);
  if (data.shape[0] !== PIXELS) throw new UsageError(`${file}: rows have ${data.shape[0]} values, expected ${PIXELS} (28x28 images, one a row)`);
  if (classes && data.n % classes.length !== 0) {
    throw new UsageError(`--class: ${classes.length} classes need ${file} to hold as many rows of each (a multiple of ${classes.length}), it has ${data.n}`);
  }
  const images = toSigned(data.x, range);
  await backendFromArgs(argv);
  const classifier = loadClassifier(dir);
  const predicted = predictLabels(classifier.params, images.x, data.n);
  const heldOutAccuracy = classifier.config.accuracy;
  classifier.dispose();
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (const p of predicted) counts[p]++;
  // With K classes the rows are K equal blocks, block k sampled as classes[k].
  const perBlock = classes ? data.n / classes.length : 0;
  const perClass = (classes ?? []).map((c, k) => {
    let hits = 0;
    for (let i = k * perBlock; i < (k + 1) * perBlock; i++) if (predicted[i] === c) hits++;
    return { class: c, n: perBlock, labeled: hits, fraction: hits / perBlock };
  });
  const single = perClass.length === 1 ? perClass[0] : undefined;
  const overall = perClass.length ? perClass.reduce((a, r) => a + r.labeled, 0) / data.n : undefined;
  const summary = {
    n: data.n,
    counts,
    predicted: Array.from(predicted),
    ...(single ? { class: single.class, fraction: single.fraction } : {}),
    ...(perClass.length > 1 ? { classes: perClass, fraction: overall, lowestFraction: Math.min(...perClass.map((r) => r.fraction)) } : {}),
    heldOutAccuracy,
    range: images.range,
    classifier: dir,
    samples: file,
  };
  emit(argv, summary, () => {
    const lines = [`${data.n} images in ${file} (pixels ${images.range === 'unit' ? 'in [0, 1]' : 'in [-1, 1]'}) labeled by ${dir} (held-out accuracy ${percent(heldOutAccuracy)}):`];
    counts.forEach((c, k) => lines.push(`  ${k}: ${String(c).padStart(String(data.n).length)}  ${percent(c / data.n).padStart(6)}`));
    for (const r of perClass) lines.push(`class ${r.class}: ${percent(r.fraction)} of ${perClass.length > 1 ? `its ${r.n} rows` : 'the images'} labeled ${r.class} (${r.labeled}/${r.n})`);
    if (perClass.length > 1) lines.push(`all classes: ${percent(overall!)} labeled as sampled; lowest ${percent(summary.lowestFraction!)}`);
    return lines.join('\n');
  });
}

/** --class C or C1,C2,...: distinct digits 0-9. */
function parseClasses(value: unknown): number[] {
  const classes = String(value).split(',').map((p) => integerInRange('class', p.trim(), 0, NUM_CLASSES - 1));
  const repeated = classes.find((c, i) => classes.indexOf(c) !== i);
  if (repeated !== undefined) throw new UsageError(`--class: class ${repeated} is listed twice in '${String(value)}'`);
  return classes;
}

export const classifyCommand: CommandModule = {
  command: 'classify',
  describe: 'Train a small MNIST digit classifier, or label the images of an mnist model\'s samples with one',
  builder: (y: Argv) =>
    withCommonOptions(y)
      .option('train', { type: 'boolean', describe: 'train a classifier on the mnist package (9,000 digits; 1,000 held out) and save it to --out' })
      .option('out', { type: 'string', describe: 'with --train: directory to write the classifier to' })
      .option('iters', { type: 'string', describe: `with --train: Adam steps (default ${DEFAULT_CLASSIFIER_TRAINING.iters})` })
      .option('batch', { type: 'string', describe: `with --train: batch size (default ${DEFAULT_CLASSIFIER_TRAINING.batch})` })
      .option('lr', { type: 'string', describe: `with --train: learning rate (default ${DEFAULT_CLASSIFIER_TRAINING.lr})` })
      .option('seed', { type: 'string', describe: `with --train: random seed (default ${DEFAULT_CLASSIFIER_TRAINING.seed})` })
      .option('n-data', { type: 'string', describe: 'with --train: use only the first N training digits' })
      .option('classifier', { type: 'string', describe: 'directory written by sde classify --train' })
      .option('samples', { type: 'string', describe: 'CSV of 28x28 images, one a row (784 values), as sde sample writes for an mnist model' })
      .option('class', { type: 'string', describe: 'report the fraction of images labeled with this digit (0-9); a list C1,C2,... reads the rows as equal blocks, one a class, as sde sample --class C1,C2,... writes them' })
      .option('range', { type: 'string', describe: 'pixel values of --samples: unit ([0, 1], what sde sample writes for mnist), signed ([-1, 1]) or auto (by the median pixel; default)' })
      .example('$0 classify --train --out runs/mnist-clf', 'train the classifier (a few minutes on wasm) and print its held-out accuracy')
      .example('$0 classify --classifier runs/mnist-clf --samples digits.csv --class 3', 'histogram of labels and the fraction labeled 3')
      .example('$0 classify --classifier runs/mnist-clf --samples all.csv --class 0,1,2,3,4,5,6,7,8,9', 'the fraction of each class block labeled as its class'),
  handler: async (argv) => {
    if (argv.train) await trainMode(argv);
    else await classifyMode(argv);
  },
};
