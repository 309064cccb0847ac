import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { guidedScore } from '../../src/conditioning/index.js';
import { conditionOnClass, mixtureAt, mixtureConditionalScore } from '../../src/oracle/index.js';
import { makeSDE } from '../../src/sde/index.js';
import { integrate, type IntegrateOptions, type SolverName } from '../../src/solvers/index.js';
import { CLASSED, describeFit, expectFit, fitMixture } from './helpers.js';

// --class C with W = 0 samples the class's own mixture: component weights, means and variances
// against the float64 closed forms of conditionOnClass(CLASSED, 1) at the end time eps.
const sde = makeSDE({ sde: 'vp' });
const N = 20000;
const EPS = 1e-3;

function sampleClass(name: SolverName, options: IntegrateOptions, label: number, guidance: number, n = N) {
  const cs = mixtureConditionalScore(sde, CLASSED);
  const t0 = performance.now();
  const r = integrate(sde, guidedScore(cs, label, guidance), name, { shape: [n, 2], seed: 11, eps: EPS, ...options });
  const points = r.x.arraySync() as number[][];
  const ms = performance.now() - t0;
  r.x.dispose();
  cs.dispose();
  return { points, nfe: r.nfe, ms };
}

describe('--class C reproduces the class mixture (oracle, W = 0)', () => {
  const target = mixtureAt(sde, conditionOnClass(CLASSED, 1), EPS);
  const others = conditionOnClass(CLASSED, 0).means;

  test.each([
    ['euler-maruyama', { steps: 500 }],
    ['dpm-solver', { steps: 20 }],
  ] as [SolverName, IntegrateOptions][])('%s %j, n = 20,000', (name, options) => {
    const { points, nfe, ms } = sampleClass(name, options, 1, 0);
    const fit = fitMixture(points, target, others);
    console.log(describeFit(`${name} class 1`, fit, target) + `, nfe ${nfe}, ${ms.toFixed(0)} ms`);
    expectFit(fit, target);
  });

  test('guidance W = 2 keeps the samples in class 1 and costs two evaluations per call', () => {
    const { points, nfe } = sampleClass('euler-maruyama', { steps: 100 }, 1, 2, 4000);
    const fit = fitMixture(points, target, others);
    console.log(describeFit('euler-maruyama class 1, W = 2, 100 steps', fit, target) + `, nfe ${nfe}`);
    expect(nfe).toBe(200);
    expect(fit.leaked).toBe(0);
    expect(points.flat().every(Number.isFinite)).toBe(true);
    // A tensor check: nothing leaked by the guided score.
    expect(tf.memory().numTensors).toBeLessThan(50);
  });
});
