import { describe, expect, test } from 'vitest';
import { checkOption, choice, defaultsOf, describeNumber, fieldName, flagName, helpText, OptionError, parseOptions, type Schema } from '../../src/options/schema.js';

const SCHEMA = {
  steps: { type: 'number', integer: true, min: 2, max: 10, doc: 'steps' },
  rtol: { type: 'number', above: 0, default: 1e-5, doc: 'tolerance' },
  eta: { type: 'number', min: 0, below: 1, doc: 'eta' },
  order: { type: 'number', oneOf: [2, 3], default: 3, doc: 'order' },
  correctorSteps: { type: 'number', integer: true, min: 0, default: 1, doc: 'corrector steps' },
  variance: choice(['beta-tilde', 'beta'], { default: 'beta-tilde', doc: 'variance' }),
  denoise: { type: 'boolean', default: false, doc: 'denoise' },
} as const satisfies Schema;

describe('option schema', () => {
  test('field and flag names map camelCase <-> kebab-case both ways', () => {
    expect(flagName('correctorSteps')).toBe('corrector-steps');
    expect(flagName('maxSteps')).toBe('max-steps');
    expect(fieldName('first-step')).toBe('firstStep');
    for (const f of Object.keys(SCHEMA)) expect(fieldName(flagName(f))).toBe(f);
  });

  test('numbers are accepted as numbers or decimal strings and checked against their range', () => {
    expect(checkOption('steps', SCHEMA.steps, '4')).toBe(4);
    expect(checkOption('steps', SCHEMA.steps, 10)).toBe(10);
    expect(checkOption('rtol', SCHEMA.rtol, '1e-3')).toBe(1e-3);
    expect(checkOption('eta', SCHEMA.eta, ' 0 ')).toBe(0);
    expect(checkOption('order', SCHEMA.order, '2')).toBe(2);
    const bad: [keyof typeof SCHEMA, unknown, string][] = [
      ['steps', '1', '--steps: expected an integer from 2 to 10, got 1'],
      ['steps', '2.5', '--steps: expected an integer from 2 to 10, got 2.5'],
      ['steps', 11, '--steps: expected an integer from 2 to 10, got 11'],
      ['rtol', '0', '--rtol: expected a positive number, got 0'],
      ['rtol', 'abc', "--rtol: expected a number, got 'abc'"],
      ['rtol', '', "--rtol: expected a number, got ''"],
      ['rtol', 'Infinity', "--rtol: expected a number, got 'Infinity'"],
      ['eta', '1', '--eta: expected a number in [0, 1), got 1'],
      ['order', '4', '--order: expected one of 2, 3, got 4'],
      ['correctorSteps', '-1', '--corrector-steps: expected an integer >= 0, got -1'],
      ['variance', 'big', "--variance: expected one of beta-tilde, beta, got 'big'"],
      ['denoise', 'maybe', "--denoise: expected true or false, got 'maybe'"],
    ];
    for (const [field, value, message] of bad) {
      let error: unknown;
      try {
        checkOption(field, SCHEMA[field], value);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OptionError);
      expect((error as OptionError).message).toBe(message);
      expect((error as OptionError).field).toBe(field);
    }
  });

  test('parseOptions checks each declared field, drops undefined ones and refuses unknown fields unless told to ignore them', () => {
    expect(parseOptions(SCHEMA, { steps: '3', rtol: undefined, variance: 'beta', denoise: 'true' })).toEqual({ steps: 3, variance: 'beta', denoise: true });
    expect(() => parseOptions(SCHEMA, { stepz: 3 })).toThrow(/^--stepz: unknown option; expected one of steps, rtol, eta/);
    expect(parseOptions(SCHEMA, { stepz: 3, eta: 0.5 }, { unknown: 'ignore' })).toEqual({ eta: 0.5 });
    expect(() => parseOptions(SCHEMA, { correctorSteps: 1.5 })).toThrow(OptionError);
  });

  test('defaults and help come from the same entries', () => {
    expect(defaultsOf(SCHEMA)).toEqual({ rtol: 1e-5, order: 3, correctorSteps: 1, variance: 'beta-tilde', denoise: false });
    expect(helpText(SCHEMA.rtol)).toBe('tolerance [a positive number, default 1e-5]');
    expect(helpText(SCHEMA.steps)).toBe('steps [an integer from 2 to 10]');
    expect(helpText(SCHEMA.variance)).toBe('variance [one of beta-tilde | beta, default beta-tilde]');
    expect(describeNumber(SCHEMA.order)).toBe('one of 2, 3');
    expect(describeNumber({ type: 'number', above: 0, below: 1, doc: '' })).toBe('a number in (0, 1)');
    expect(describeNumber({ type: 'number', min: 0, below: 1, noun: 'a decay', doc: '' })).toBe('a decay in [0, 1)');
  });
});
