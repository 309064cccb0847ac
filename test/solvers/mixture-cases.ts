import { expect, test } from 'vitest';
import { mixtureScore } from '../../src/oracle/index.js';
import { makeSDE } from '../../src/sde/index.js';
import { integrate, SOLVERS, type IntegrateOptions, type SolverName } from '../../src/solvers/index.js';
import { checkAgainstTriangle, describeCheck, TRIANGLE, type MixtureCheck } from './helpers.js';

export const N_SAMPLES = 20000;
/** Allowed relative error of the within-component variance: discretization bias, not sampling (SE ~0.7%). */
export const WITHIN_VAR_TOLERANCE = 0.04;

/** Draws N_SAMPLES with a solver at its defaults (plus `options`) on the VP-SDE and checks them against the triangle mixture. */
export function sampleTriangle(name: SolverName, options: IntegrateOptions = {}, seed = 1): { check: MixtureCheck; points: number[][] } {
  const sde = makeSDE({ sde: 'vp' });
  const score = mixtureScore(sde, TRIANGLE);
  const t0 = performance.now();
  const r = integrate(sde, score, name, { shape: [N_SAMPLES, 2], seed, ...options });
  const points = r.x.arraySync() as number[][];
  const ms = performance.now() - t0;
  r.x.dispose();
  score.dispose();
  const check = checkAgainstTriangle(sde, points, name === 'ddpm' ? 0 : (options.eps ?? 1e-3));
  const steps = options.steps ?? SOLVERS[name].defaultSteps;
  console.log(describeCheck(`${name} ${JSON.stringify(options)} steps ${steps}`, check, `nfe ${r.nfe}${r.accepted !== undefined ? ` (accepted ${r.accepted}, rejected ${r.rejected})` : ''}, ${ms.toFixed(0)} ms`));
  expect(points.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))).toBe(true);
  return { check, points };
}

/** Weights within 0.02, mean and covariance within 4 standard errors, within-component variance within 4%. */
export function expectTriangle(c: MixtureCheck): void {
  c.weights.forEach((w, k) => expect(Math.abs(w - TRIANGLE.weights[k])).toBeLessThan(0.02));
  c.moments.mean.forEach((v, j) => expect(Math.abs(v - c.refMean[j])).toBeLessThan(4 * c.moments.meanSE[j]));
  c.moments.cov.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - c.refCov[i][j])).toBeLessThan(4 * c.moments.covSE[i][j])));
  expect(Math.abs(c.withinVar / c.withinRef - 1)).toBeLessThan(WITHIN_VAR_TOLERANCE);
}

/** One test per solver at its default step count. */
export function defaultStepTests(names: SolverName[]): Map<SolverName, MixtureCheck> {
  const results = new Map<SolverName, MixtureCheck>();
  for (const name of names) {
    test(`${name} at its default steps reproduces the mixture`, () => {
      const { check } = sampleTriangle(name);
      results.set(name, check);
      expectTriangle(check);
    });
  }
  return results;
}

