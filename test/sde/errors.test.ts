import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { makeSchedule, makeSDE, parseSdeName, type SDEConfig } from '../../src/sde/index.js';

/** Runs fn, expects a UsageError, and returns its message. */
function usageError(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(UsageError);
  return (caught as UsageError).message;
}

/** The CLI prints the message as one line on stderr: it starts with the flag and has no line break. */
function expectOneLineNaming(message: string, flag: string): void {
  expect(message.startsWith(`${flag}: `), message).toBe(true);
  expect(message).not.toMatch(/[\r\n]/);
  expect(message.length).toBeLessThan(400);
}

const CASES: [string, Partial<SDEConfig>, string, RegExp][] = [
  ['an unknown SDE name', { sde: 'foo' as SDEConfig['sde'] }, '--sde', /'foo'.*vp, subvp, ve/],
  ['beta_min = beta_max', { betaMin: 20, betaMax: 20 }, '--beta-max', /greater than --beta-min/],
  ['beta_min > beta_max', { betaMin: 5, betaMax: 1 }, '--beta-max', /greater than --beta-min/],
  ['beta_min = 0', { betaMin: 0 }, '--beta-min', /positive/],
  ['beta_min < 0', { betaMin: -0.1 }, '--beta-min', /positive/],
  ['beta_min = NaN', { betaMin: NaN }, '--beta-min', /positive/],
  ['beta_max = Infinity', { betaMax: Infinity }, '--beta-max', /greater than/],
  ['sub-VP with beta_min >= beta_max', { sde: 'subvp', betaMin: 3, betaMax: 2 }, '--beta-max', /greater than/],
  ['a malformed expression', { schedule: '0.1 +* t' }, '--schedule', /cannot parse '0\.1 \+\* t'/],
  ['an unknown symbol', { schedule: '0.1 + x' }, '--schedule', /unknown symbol 'x'/],
  ['an unknown function', { schedule: 'gamma(t) + 1' }, '--schedule', /unsupported function 'gamma'/],
  ['beta negative on part of [0, 1]', { schedule: '1 - 2*t' }, '--schedule', /finite and positive on \[0, 1\]/],
  ['beta infinite inside [0, 1]', { schedule: '1 / (t - 0.5)' }, '--schedule', /finite and positive/],
  ['beta NaN on [0, 1]', { schedule: 'sqrt(t - 2)' }, '--schedule', /finite and positive/],
  ['an empty schedule', { schedule: '  ' }, '--schedule', /empty/],
  ['VE sigma_min <= 0', { sde: 've', sigmaMin: 0 }, '--sigma-min', /positive/],
  ['VE sigma_max <= sigma_min', { sde: 've', sigmaMin: 1, sigmaMax: 1 }, '--sigma-max', /greater than --sigma-min/],
];

describe('bad SDE configurations are UsageErrors: one line naming the flag', () => {
  test.each(CASES)('%s', (_label, config, flag, detail) => {
    const message = usageError(() => makeSDE(config));
    expectOneLineNaming(message, flag);
    expect(message).toMatch(detail);
  });

  test('the schedule check happens when the schedule is made, for VP and sub-VP alike', () => {
    for (const sde of ['vp', 'subvp'] as const) expectOneLineNaming(usageError(() => makeSDE({ sde, schedule: '1 - 2*t' })), '--schedule');
    expectOneLineNaming(usageError(() => makeSchedule('0.1 + x')), '--schedule');
  });

  test('parseSdeName names its source', () => {
    expectOneLineNaming(usageError(() => parseSdeName('bar', 'config.sde')), 'config.sde');
    expect(parseSdeName('ve')).toBe('ve');
  });

  test('valid edge cases are accepted', () => {
    // beta touching small positive values, and expressions with the allowed vocabulary
    expect(() => makeSDE({ schedule: '1e-4 + t^2' })).not.toThrow();
    expect(() => makeSDE({ schedule: '-(-2)' })).not.toThrow();
    expect(() => makeSDE({ betaMin: 1e-3, betaMax: 1e-3 + 1e-9 })).not.toThrow();
    // VE ignores the beta flags, VP ignores the sigma flags
    expect(() => makeSDE({ sde: 've', betaMin: -1 })).not.toThrow();
    expect(() => makeSDE({ sde: 'vp', sigmaMin: -1 })).not.toThrow();
  });
});
