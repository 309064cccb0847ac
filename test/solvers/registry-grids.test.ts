import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { makeSDE } from '../../src/sde/index.js';
import {
  checkSolverOptions,
  expectedNfe,
  integrate,
  logSnrAt,
  parseGridKind,
  parseSolverName,
  SOLVER_NAMES,
  SOLVERS,
  timeAtLogSnr,
  timeGrid,
} from '../../src/solvers/index.js';

describe('registry', () => {
  test('every name has a description as data', () => {
    for (const name of SOLVER_NAMES) {
      const info = SOLVERS[name];
      expect(info.name).toBe(name);
      expect(['sde', 'ode']).toContain(info.kind);
      expect(info.order).toBeGreaterThan(0);
      expect(info.adaptive ? info.defaultSteps === 0 : info.defaultSteps > 0).toBe(true);
    }
    expect(SOLVER_NAMES.filter((n) => SOLVERS[n].adaptive)).toEqual(['ode-rk45', 'sde-adaptive']);
    expect(expectedNfe('pc', { correctorSteps: 2 })).toBe(750);
    expect(expectedNfe('dpm-solver', {})).toBe(18);
    expect(expectedNfe('dpm-solver++', {})).toBe(20);
    expect(expectedNfe('ode-heun', { steps: 10, denoise: true })).toBe(21);
    expect(expectedNfe('ode-rk45')).toBeUndefined();
  });

  test('bad names and options are one-line UsageErrors naming the flag', () => {
    const vp = makeSDE({ sde: 'vp' });
    const ve = makeSDE({ sde: 've' });
    const cases: [() => unknown, string][] = [
      [() => parseSolverName('rk4'), '--solver: unknown solver'],
      [() => parseGridKind('cubic'), '--grid: unknown time grid'],
      [() => checkSolverOptions(vp, 'ode-euler', { shape: [1, 1], steps: 0 }), '--steps'],
      [() => checkSolverOptions(vp, 'ddpm', { shape: [1, 1], steps: 1 }), '--steps'],
      [() => checkSolverOptions(vp, 'ode-rk45', { shape: [1, 1], rtol: -1 }), '--rtol'],
      [() => checkSolverOptions(vp, 'ode-rk45', { shape: [1, 1], atol: 0 }), '--atol'],
      [() => checkSolverOptions(vp, 'pc', { shape: [1, 1], snr: 0 }), '--snr'],
      [() => checkSolverOptions(vp, 'pc', { shape: [1, 1], correctorSteps: 1.5 }), '--corrector-steps'],
      [() => checkSolverOptions(vp, 'ddim', { shape: [1, 1], eta: -0.1 }), '--eta'],
      [() => checkSolverOptions(vp, 'dpm-solver', { shape: [1, 1], order: 4 }), '--order'],
      [() => checkSolverOptions(vp, 'ode-euler', { shape: [1, 1], eps: 0 }), '--eps'],
      [() => checkSolverOptions(ve, 'ddpm', { shape: [1, 1] }), '--solver ddpm'],
      [() => integrate(vp, (x) => x, 'ddpm', { shape: [1, 1], steps: 10, map: 'score-sde' }), '--steps: the score-sde map'],
    ];
    for (const [f, flag] of cases) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, flag).toBeInstanceOf(UsageError);
      expect((err as Error).message.startsWith(flag), (err as Error).message).toBe(true);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});

describe('time grids', () => {
  for (const name of ['vp', 'subvp', 've'] as const) {
    const sde = makeSDE({ sde: name });
    test(`${name}: grids run from T to eps, decreasing`, () => {
      for (const kind of ['uniform', 'quadratic', 'logsnr'] as const) {
        const g = timeGrid(sde, kind, 17, 2e-3);
        expect(g.length).toBe(18);
        expect(g[0]).toBe(sde.T);
        expect(g[17]).toBe(2e-3);
        for (let i = 1; i < g.length; i++) expect(g[i]).toBeLessThan(g[i - 1]);
      }
      const u = timeGrid(sde, 'uniform', 4, 0.2);
      [1, 0.8, 0.6, 0.4, 0.2].forEach((t, i) => expect(u[i]).toBeCloseTo(t, 14));
      const q = timeGrid(sde, 'quadratic', 2, 0.2);
      expect(q[1]).toBeCloseTo(0.2 + 0.8 * 0.25, 14);
    });

    test(`${name}: the log-SNR grid is uniform in lambda = log(mean/std), and bisection inverts lambda`, () => {
      const g = timeGrid(sde, 'logsnr', 12, 1e-3);
      const lam = Array.from(g, (t) => {
        const m = sde.marginalAt(t);
        return Math.log(m.mean / m.std);
      });
      const h = (lam[12] - lam[0]) / 12;
      expect(h).toBeGreaterThan(0);
      lam.forEach((l, i) => expect(Math.abs(l - (lam[0] + i * h))).toBeLessThan(1e-9));
      for (const t of [1e-4, 0.01, 0.5, 0.99]) expect(Math.abs(timeAtLogSnr(sde, logSnrAt(sde, t)) - t)).toBeLessThan(1e-12);
    });
  }

  test('an explicit grid is used as given, and saveAt snaps to grid times', () => {
    const sde = makeSDE({ sde: 'vp' });
    const calls: number[] = [];
    const score = (x: tf.Tensor, t: tf.Tensor) => {
      calls.push(t.dataSync()[0]);
      return tf.zerosLike(x);
    };
    const x = tf.zeros([2, 1]);
    const r = integrate(sde, score, 'ode-euler', { xT: x, grid: [1, 0.5, 0.25, 0.01], saveAt: [1, 0.3, 0.01] });
    expect(calls.map((t) => Number(t.toFixed(6)))).toEqual([1, 0.5, 0.25]);
    expect(r.times).toEqual([1, 0.25, 0.01]);
    expect(r.path).toHaveLength(3);
    tf.dispose([x, r.x, ...r.path!]);
  });
});
