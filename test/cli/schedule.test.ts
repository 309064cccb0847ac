import { describe, expect, test } from 'vitest';
import { errorLines, runCli } from './run-cli.js';

describe('sde schedule', () => {
  test('--json prints one object whose VP marginals match the closed form', () => {
    const r = runCli(['schedule', '--json', '--points', '5']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.grid).toHaveLength(5);
    for (const row of out.grid) {
      const B = 0.1 * row.t + 0.5 * (20 - 0.1) * row.t * row.t;
      expect(row.mean).toBeCloseTo(Math.exp(-B / 2), 12);
      expect(row.std).toBeCloseTo(Math.sqrt(1 - Math.exp(-B)), 12);
    }
    expect(r.stderr).toMatch(/^backend: /m);
  });

  test("--discrete 1000 --map score-sde prints Ho et al.'s betas", () => {
    const r = runCli(['schedule', '--discrete', '1000', '--map', 'score-sde', '--json']);
    expect(r.code).toBe(0);
    const { betas, alphaBars } = JSON.parse(r.stdout);
    expect(betas).toHaveLength(1000);
    let prod = 1;
    betas.forEach((b: number, i: number) => {
      expect(Math.abs(b - (1e-4 + (i * (0.02 - 1e-4)) / 999))).toBeLessThan(1e-9);
      prod *= 1 - b;
      expect(alphaBars[i]).toBeCloseTo(prod, 12);
    });
  });

  test('text output is a table', () => {
    const r = runCli(['schedule', '--sde', 've']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mean\(t\)\s+std\(t\)/);
  });

  test.each([
    [['schedule', '--schedule', '0.1 +* t'], /--schedule/],
    [['schedule', '--schedule', '1 - 2*t'], /--schedule.*positive/],
    [['schedule', '--schedule', '0.1 + x'], /--schedule.*unknown symbol 'x'/],
    [['schedule', '--beta-min', '30', '--beta-max', '20'], /--beta-max/],
    [['schedule', '--beta-min', '-1'], /--beta-min/],
    [['schedule', '--beta-min', 'abc'], /--beta-min/],
    [['schedule', '--sde', 'foo'], /--sde.*foo/],
    [['schedule', '--backend', 'gpu'], /--backend.*gpu/],
    [['schedule', '--discrete', '0'], /--discrete/],
    [['schedule', '--discrete', '10', '--map', 'score-sde'], /--discrete.*beta/],
    [['schedule', '--discrete', '100', '--sde', 've'], /--sde/],
    [['schedule', '--map', 'nearest'], /--map/],
    [['schedule', '--no-such-flag'], /no-such-flag/],
    [['frobnicate'], /frobnicate/],
  ])('bad input %j: one line naming it, exit 2, no stack trace', (args, pattern) => {
    const r = runCli(args);
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  test('SDE_BACKEND names the backend when --backend is absent', () => {
    const bad = runCli(['schedule'], { env: { SDE_BACKEND: 'quantum' } });
    expect(bad.code).toBe(2);
    expect(errorLines(bad.stderr)[0]).toMatch(/SDE_BACKEND.*quantum/);
    const cpu = runCli(['schedule', '--json'], { env: { SDE_BACKEND: 'cpu' } });
    expect(cpu.code).toBe(0);
    expect(cpu.stderr).toMatch(/^backend: cpu$/m);
  });

  test('--help shows examples', () => {
    const r = runCli(['schedule', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:/);
  });
});
