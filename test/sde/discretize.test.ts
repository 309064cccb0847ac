import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { discretize, makeSDE, MAX_DISCRETE_BETA } from '../../src/sde/index.js';
import { linspace, vpCosine, vpLinear } from './reference.js';

/** max_i |alphaBar_i - mean(t_i)^2| with the closed-form VP(0.1, 20) mean. */
function alphaBarError(N: number): number {
  const chain = discretize(makeSDE(), N, 'score-sde');
  const ref = vpLinear(0.1, 20);
  let worst = 0;
  for (let i = 0; i < N; i++) worst = Math.max(worst, Math.abs(chain.alphaBars[i] - ref.mean(chain.times[i]) ** 2));
  return worst;
}

describe("discretize(VP, N, 'score-sde'): the DDPM special case", () => {
  test("N = 1000 gives Ho et al.'s betas linspace(1e-4, 0.02, 1000)", () => {
    const chain = discretize(makeSDE(), 1000, 'score-sde');
    const ho = linspace(1e-4, 0.02, 1000);
    expect(chain.N).toBe(1000);
    expect(chain.betas.length).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(Math.abs(chain.betas[i] - ho[i])).toBeLessThan(1e-9);
    // the grid score_sde uses: t_i = i / (N - 1)
    for (let i = 0; i < 1000; i++) expect(chain.times[i]).toBeCloseTo(i / 999, 14);
    // and the derived arrays follow from the betas
    let prod = 1;
    for (let i = 0; i < 1000; i++) {
      prod *= 1 - ho[i];
      expect(Math.abs(chain.alphaBars[i] - prod)).toBeLessThan(1e-9);
    }
  });

  test('alpha-bar converges to mean(t_i)^2 at first order: the error halves when N doubles', () => {
    const Ns = [250, 500, 1000, 2000, 4000];
    const errors = Ns.map(alphaBarError);
    const ratios = errors.slice(1).map((e, i) => errors[i] / e);
    // Measured: errors 6.46e-3, 3.22e-3, 1.61e-3, 8.04e-4, 4.02e-4; ratios 2.0048, 2.0024, 2.0012, 2.0006.
    for (const r of ratios) {
      expect(r).toBeGreaterThan(1.95);
      expect(r).toBeLessThan(2.05);
    }
    // not a vanishing error that merely halves: N * error settles at a constant (~1.6)
    const scaled = errors.map((e, i) => e * Ns[i]);
    for (const s of scaled) {
      expect(s).toBeGreaterThan(1.5);
      expect(s).toBeLessThan(1.7);
    }
  });

  test('at N = 10 a beta reaches beta(t)/N >= 1 and the map refuses', () => {
    expect(() => discretize(makeSDE(), 10, 'score-sde')).toThrow(UsageError);
    expect(() => discretize(makeSDE(), 10, 'score-sde')).toThrow(/^--discrete: .*>= 1/);
    // beta_max / N = 20 / 20 = 1 is still invalid; N = 21 is the first valid size
    expect(() => discretize(makeSDE(), 20, 'score-sde')).toThrow(UsageError);
    const chain = discretize(makeSDE(), 21, 'score-sde');
    expect(Math.max(...chain.betas)).toBeCloseTo(20 / 21, 12);
  });
});

describe("discretize(VP, N, 'exact')", () => {
  test.each([10, 100, 1000])('N = %i: alphaBar_i = mean(t_i)^2 on t_i = (i + 1)/N, betas in (0, 1)', (N) => {
    const chain = discretize(makeSDE(), N, 'exact');
    const ref = vpLinear(0.1, 20);
    for (let i = 0; i < N; i++) {
      expect(chain.times[i]).toBeCloseTo((i + 1) / N, 14);
      expect(Math.abs(chain.alphaBars[i] - ref.mean(chain.times[i]) ** 2)).toBeLessThan(1e-12);
      expect(chain.betas[i]).toBeGreaterThan(0);
      expect(chain.betas[i]).toBeLessThan(1);
    }
  });

  test('the default map is exact', () => {
    const a = discretize(makeSDE(), 10);
    const b = discretize(makeSDE(), 10, 'exact');
    expect(Array.from(a.betas)).toEqual(Array.from(b.betas));
  });

  test('cosine schedule, N = 10: alpha-bar is Nichol & Dhariwal f(t_i)/f(0) up to the 0.999 cap', () => {
    const sde = makeSDE({ schedule: 'cosine' });
    const chain = discretize(sde, 10, 'exact');
    const ref = vpCosine();
    // the last beta, 1 - abar(T)/abar(0.9 T) ~ 0.997, stays under the cap, so every step is exact
    expect(Math.max(...chain.betas)).toBeLessThan(MAX_DISCRETE_BETA);
    for (let i = 0; i < 10; i++) {
      expect(chain.times[i]).toBeCloseTo(((i + 1) * sde.T) / 10, 14);
      expect(chain.betas[i]).toBeGreaterThan(0);
      expect(Math.abs(chain.alphaBars[i] - ref.mean(chain.times[i]) ** 2)).toBeLessThan(1e-12);
    }
  });

  test('only the VP-SDE has a DDPM chain, and N must be an integer >= 2', () => {
    expect(() => discretize(makeSDE({ sde: 've' }), 100)).toThrow(/^--sde: /);
    expect(() => discretize(makeSDE({ sde: 'subvp' }), 100)).toThrow(UsageError);
    expect(() => discretize(makeSDE(), 1)).toThrow(/^--discrete: /);
    expect(() => discretize(makeSDE(), 2.5)).toThrow(UsageError);
  });
});
