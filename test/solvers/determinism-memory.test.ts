import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { mixtureScore } from '../../src/oracle/index.js';
import { makeSDE } from '../../src/sde/index.js';
import { expectedNfe, integrate, SOLVER_NAMES, SOLVERS, timeGrid, type IntegrateOptions, type SolverName } from '../../src/solvers/index.js';
import { TRIANGLE } from './helpers.js';

const sde = makeSDE({ sde: 'vp' });

describe('seeding', () => {
  test.each(SOLVER_NAMES)('%s: the same seed gives the same samples, another seed others', (name) => {
    const score = mixtureScore(sde, TRIANGLE);
    const opts: IntegrateOptions = { shape: [64, 2], ...(SOLVERS[name].adaptive ? {} : { steps: 20 }) };
    const run = (seed: number) => {
      const r = integrate(sde, score, name, { ...opts, seed });
      const a = Array.from(r.x.dataSync());
      r.x.dispose();
      return a;
    };
    const a = run(3);
    expect(run(3)).toEqual(a);
    expect(run(4)).not.toEqual(a);
    score.dispose();
  });

  test('stochastic solvers from one x_T differ only through the noise seed', () => {
    const score = mixtureScore(sde, TRIANGLE);
    const xT = sde.priorSample([64, 2], 9);
    for (const name of ['euler-maruyama', 'reverse-diffusion', 'ddpm', 'pc'] as SolverName[]) {
      const a = integrate(sde, score, name, { xT, steps: 20, seed: 1 });
      const b = integrate(sde, score, name, { xT, steps: 20, seed: 1 });
      const c = integrate(sde, score, name, { xT, steps: 20, seed: 2 });
      expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
      expect(Array.from(a.x.dataSync())).not.toEqual(Array.from(c.x.dataSync()));
      tf.dispose([a.x, b.x, c.x]);
    }
    expect(xT.isDisposed).toBe(false);
    xT.dispose();
    score.dispose();
  });
});

describe('memory and NFE over 1,000 steps', () => {
  test.each(SOLVER_NAMES)('%s: tf.memory().numTensors stays flat', (name) => {
    const score = mixtureScore(sde, TRIANGLE);
    const adaptive = SOLVERS[name].adaptive;
    // rk45 with a tight tolerance and its step capped at (T - eps)/1000 takes over 1,000 steps, sde-adaptive
    // (weak order 2, no step cap) over 1,000 at 1e-4; every other solver 1,000.
    const tight = name === 'sde-adaptive' ? { rtol: 1e-4, atol: 1e-4 } : { rtol: 1e-7, atol: 1e-7, maxStep: (1 - 1e-3) / 1000 };
    const opts: IntegrateOptions = adaptive ? tight : { steps: 1000 };
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const r = integrate(sde, score, name, { shape: [4, 2], seed: 0, ...opts, onStep: () => counts.push(tf.memory().numTensors) });
    // One live x (plus rk45's stage k1) the whole way through.
    expect(Math.max(...counts) - Math.min(...counts)).toBe(0);
    expect(counts[0] - before).toBeLessThanOrEqual(2);
    if (!adaptive) {
      expect(counts.length).toBe(1000);
      expect(r.nfe).toBe(expectedNfe(name, opts));
    } else {
      expect(counts.length).toBe(r.accepted);
      expect(r.accepted!).toBeGreaterThanOrEqual(1000);
    }
    r.x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    score.dispose();
  });
});

describe('results', () => {
  test('saveAt "all" returns every grid state and denoise adds one NFE', () => {
    const score = mixtureScore(sde, TRIANGLE);
    const before = tf.memory().numTensors;
    const r = integrate(sde, score, 'ode-heun', { shape: [8, 2], steps: 10, saveAt: 'all', denoise: true, grid: 'quadratic' });
    expect(r.nfe).toBe(21);
    expect(r.times).toEqual(Array.from(timeGrid(sde, 'quadratic', 10)));
    expect(r.path).toHaveLength(11);
    // The Tweedie step leaves x_eps in the path and the denoised x as the result.
    const last = r.path![10].dataSync();
    const x = r.x.dataSync();
    expect(Array.from(x)).not.toEqual(Array.from(last));
    tf.dispose([r.x, ...r.path!]);
    expect(tf.memory().numTensors).toBe(before);
    score.dispose();
  });

  test('ode-rk45 lands exactly on requested save times', () => {
    const score = mixtureScore(sde, TRIANGLE);
    const r = integrate(sde, score, 'ode-rk45', { shape: [8, 2], saveAt: [0.5, 1, 0.1, 1e-3] });
    expect(r.times).toEqual([1, 0.5, 0.1, 1e-3]);
    expect(Array.from(r.path![3].dataSync())).toEqual(Array.from(r.x.dataSync()));
    tf.dispose([r.x, ...r.path!]);
    score.dispose();
  });

  test('ddpm reports its chain times ending at 0', () => {
    const score = mixtureScore(sde, TRIANGLE);
    const r = integrate(sde, score, 'ddpm', { shape: [8, 2], steps: 4, saveAt: 'all' });
    expect(r.times).toEqual([1, 0.75, 0.5, 0.25, 0]);
    expect(r.nfe).toBe(4);
    tf.dispose([r.x, ...r.path!]);
    score.dispose();
  });
});
