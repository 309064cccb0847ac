import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  cosineSchedule,
  discretize,
  discretizedGaussianLogLikelihood,
  epsToScore,
  epsToX0,
  expressionSchedule,
  linearSchedule,
  makeSDE,
  normalKL,
  probabilityFlowDrift,
  reverseSdeDrift,
  scoreToEps,
  scoreToX0,
  x0ToEps,
  x0ToScore,
  type Marginal,
  type ScoreFn,
  type SDEConfig,
} from '../../src/sde/index.js';

const CALLS = 1000;

/** Disposes whatever a call returned: a tensor, or an object of tensors. */
function release(out: unknown): void {
  if (out instanceof tf.Tensor) out.dispose();
  else if (out && typeof out === 'object') for (const v of Object.values(out)) release(v);
}

/** One warm-up call (may cache constants), then CALLS calls whose results are disposed: no tensor may remain. */
function expectNoLeak(fn: () => unknown): void {
  release(fn());
  const before = tf.memory().numTensors;
  for (let i = 0; i < CALLS; i++) release(fn());
  expect(tf.memory().numTensors - before).toBe(0);
}

const B = 4;
// Inputs are made once the backend is selected (test/setup.ts runs in beforeAll), and kept.
let x: tf.Tensor;
let xImg: tf.Tensor;
let t: tf.Tensor;
let tScalar: tf.Tensor;
beforeAll(() => {
  x = tf.randomNormal([B, 2], 0, 1, 'float32', 1);
  xImg = tf.randomNormal([B, 2, 2, 1], 0, 1, 'float32', 2);
  t = tf.tensor1d([0.1, 0.3, 0.6, 0.9]);
  tScalar = tf.scalar(0.5);
});
/** A score function that allocates, as a network would; the drift functions must clean up after it. */
const score: ScoreFn = (xx, tt) => tf.div(tf.neg(xx), tf.add(1, tf.reshape(tt, tt.rank === 0 ? [] : [-1, ...new Array<number>(xx.rank - 1).fill(1)])));

// One SDE of each family; each schedule's own tensor functions (beta, integral) are checked below.
const SDES: [string, Partial<SDEConfig>][] = [
  ['VP linear', { sde: 'vp' }],
  ['sub-VP cosine', { sde: 'subvp', schedule: 'cosine' }],
  ['VE', { sde: 've' }],
];

describe.each(SDES)('%s: no tensor leaks over 1000 calls', (_label, config) => {
  const sde = makeSDE(config);
  test('drift, diffusion, driftCoef, marginal', () => {
    expectNoLeak(() => sde.drift(x, t));
    expectNoLeak(() => sde.diffusion(t));
    expectNoLeak(() => sde.driftCoef(t));
    expectNoLeak(() => sde.marginal(t));
  });
  test('priorLogProb, priorSample', () => {
    expectNoLeak(() => sde.priorLogProb(xImg));
    expectNoLeak(() => sde.priorSample([B, 2], 3));
  });
  test('reverseSdeDrift, probabilityFlowDrift, with a rank-4 x and a scalar t', () => {
    expectNoLeak(() => reverseSdeDrift(sde, score, xImg, t));
    expectNoLeak(() => probabilityFlowDrift(sde, score, x, tScalar));
  });
});

describe('schedules: no tensor leaks over 1000 calls', () => {
  test.each([
    ['linear', linearSchedule(0.1, 20)],
    ['cosine', cosineSchedule()],
    ['expression', expressionSchedule('0.1 + 19.9*t^2 + sin(t)')],
    ['constant expression', expressionSchedule('2')],
  ])('%s beta and integral', (_label, s) => {
    expectNoLeak(() => s.beta(t));
    expectNoLeak(() => s.integral(t));
    expectNoLeak(() => s.integral(tScalar));
  });
});

describe('discrete chain, Gaussian terms and conversions: no tensor leaks over 1000 calls', () => {
  const chain = discretize(makeSDE(), 100);
  let steps: tf.Tensor1D;
  let m: Marginal<tf.Tensor>;
  let x2: tf.Tensor;
  let xData: tf.Tensor;
  let logScale: tf.Tensor;
  beforeAll(() => {
    steps = tf.tensor1d([0, 5, 50, 99], 'int32');
    m = makeSDE().marginal(t);
    x2 = tf.randomNormal([B, 2], 0, 1, 'float32', 4);
    xData = tf.clipByValue(x2, -1, 1);
    logScale = tf.fill([B, 2], -2);
  });

  test('qSample, posterior, gather', () => {
    expectNoLeak(() => chain.qSample(x, steps, x));
    expectNoLeak(() => chain.posterior(x, x2, steps));
    expectNoLeak(() => chain.gather(chain.alphaBars, steps));
  });

  test('normalKL, discretizedGaussianLogLikelihood', () => {
    expectNoLeak(() => normalKL(x, x, tScalar, tScalar));
    expectNoLeak(() => discretizedGaussianLogLikelihood(xData, x, logScale));
  });

  test('eps <-> score <-> x0 conversions', () => {
    expectNoLeak(() => epsToScore(x, m));
    expectNoLeak(() => scoreToEps(x, m));
    expectNoLeak(() => epsToX0(x, x, m));
    expectNoLeak(() => x0ToEps(x, x, m));
    expectNoLeak(() => scoreToX0(x, x, m));
    expectNoLeak(() => x0ToScore(x, x, m));
  });
});
