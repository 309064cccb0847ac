import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CONDITIONING_SCHEMA } from '../../src/conditioning/options.js';
import { NLL_SCHEMA } from '../../src/eval/nll-options.js';
import { MODEL_SCHEMA } from '../../src/models/options.js';
import { flagName, type Schema } from '../../src/options/schema.js';
import { ALL_SOLVER_OPTIONS, COMMON_SOLVER_SCHEMA, SOLVER_MODULES } from '../../src/solvers/index.js';
import { TRAIN_SCHEMA } from '../../src/train/options.js';
import { RUN_DATA_SCHEMA } from '../../src/train/run-data.js';
import { errorLines, runCli } from './run-cli.js';

/*
 * The schema is the one source of the solver flags: every field of every solver's schema is an
 * option of the commands that sample, a bad value of it is refused by the CLI with a line naming
 * that flag, and no error message in src names a flag that no command has.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const COMMANDS = ['schedule', 'train', 'sample', 'compare', 'nll', 'report', 'demo', 'classify', 'data'];

/** The flags a command's --help lists (long names, and -n as --n). */
function helpFlags(command: string): Set<string> {
  const r = runCli([command, '--help']);
  expect(r.code).toBe(0);
  return new Set([...r.stdout.matchAll(/^\s+(?:-(\w)(?:,\s+)?)?(?:--([a-z0-9-]+))?/gm)].flatMap((m) => [m[1], m[2]]).filter((f): f is string => f !== undefined));
}


describe('solver flags come from the solver schemas', () => {
  test('every schema field is a flag of sde sample and sde compare', () => {
    const fields = Object.keys(ALL_SOLVER_OPTIONS);
    for (const m of SOLVER_MODULES) for (const f of Object.keys(m.options as Schema)) expect(fields).toContain(f);
    for (const command of ['sample', 'compare']) {
      const flags = helpFlags(command);
      for (const field of fields) expect(flags.has(flagName(field)), `${command} --${flagName(field)}`).toBe(true);
    }
  });

  test('a bad value of each field is refused through the real CLI with one line naming its flag', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-flags-'));
    const MIX = path.join(dir, 'mix.json');
    fs.writeFileSync(MIX, JSON.stringify({ weights: [1], means: [[0, 0]], stds: [1] }));
    try {
      const cases: [string, string, string][] = [];
      const add = (solver: string, schema: Schema) => {
        for (const [field, spec] of Object.entries(schema)) {
          if (spec.type === 'boolean' || cases.some(([, f]) => f === field)) continue;
          cases.push([solver, field, spec.type === 'number' ? 'abc' : 'no-such-choice']);
        }
      };
      add('euler-maruyama', COMMON_SOLVER_SCHEMA);
      for (const m of SOLVER_MODULES) add(m.info.name, m.options as Schema);
      expect(cases.length).toBeGreaterThanOrEqual(15);
      for (const [solver, field, value] of cases) {
        const flag = flagName(field);
        const r = runCli(['sample', '--oracle', MIX, '--solver', solver, '--n', '4', `--${flag}`, value, '--out', path.join(dir, 'never-written.csv')]);
        expect({ code: r.code, lines: errorLines(r.stderr) }, `--${flag} ${value}`).toEqual({ code: 2, lines: [expect.stringMatching(new RegExp(`^sde: --${flag}: expected `))] });
      }
      expect(fs.existsSync(path.join(dir, 'never-written.csv'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('every training setting is a flag of sde train, and a bad value of each is refused naming it', () => {
  const flags = helpFlags('train');
  for (const field of Object.keys(TRAIN_SCHEMA)) expect(flags.has(flagName(field)), `train --${flagName(field)}`).toBe(true);
  for (const [field, spec] of Object.entries(TRAIN_SCHEMA as Schema)) {
    const flag = flagName(field);
    const r = runCli(['train', '--data', 'moons', ...(field === 'iters' ? [] : ['--iters', '1']), '--out', path.join(os.tmpdir(), 'sde-flags-never'), `--${flag}`, spec.type === 'number' ? '-7.5' : 'no-such-choice']);
    expect({ code: r.code, lines: errorLines(r.stderr) }, `--${flag}`).toEqual({ code: 2, lines: [expect.stringMatching(new RegExp(`^sde: --${flag}: expected `))] });
  }
  expect(fs.existsSync(path.join(os.tmpdir(), 'sde-flags-never'))).toBe(false);
});

test('every data and model option is a flag of sde train, and a bad value of each is refused naming it', () => {
  const flags = helpFlags('train');
  const schema: Schema = { ...RUN_DATA_SCHEMA, ...MODEL_SCHEMA };
  for (const field of Object.keys(schema)) expect(flags.has(flagName(field)), `train --${flagName(field)}`).toBe(true);
  for (const [field, spec] of Object.entries(schema)) {
    const flag = flagName(field);
    // --data takes any text (checked as a set name or file by loadRunData); a switch takes no value.
    const bad = spec.type === 'boolean' ? [`--${flag}=maybe`] : [`--${flag}`, spec.type === 'number' ? '-7.5' : spec.type === 'text' ? 'no-such-data' : 'no-such-choice'];
    const r = runCli(['train', ...(field === 'data' ? [] : ['--data', 'moons']), '--iters', '1', '--out', path.join(os.tmpdir(), 'sde-flags-never'), ...bad]);
    const problem = spec.type === 'boolean' ? '' : spec.type === 'text' ? "'no-such-data' is neither" : 'expected ';
    expect({ code: r.code, lines: errorLines(r.stderr) }, bad.join(' ')).toEqual({ code: 2, lines: [expect.stringMatching(new RegExp(`^sde: --${flag}: ${problem}`))] });
  }
  expect(fs.existsSync(path.join(os.tmpdir(), 'sde-flags-never'))).toBe(false);
});

test('every conditioning option is a flag of sde sample and sde compare, and a bad value of each is refused naming it', () => {
  for (const command of ['sample', 'compare']) {
    const flags = helpFlags(command);
    for (const field of Object.keys(CONDITIONING_SCHEMA)) expect(flags.has(flagName(field)), `${command} --${flagName(field)}`).toBe(true);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-flags-cond-'));
  fs.writeFileSync(path.join(dir, 'mix.json'), JSON.stringify({ weights: [0.5, 0.5], means: [[0, 0], [2, 2]], stds: [1, 1], classes: [0, 1] }));
  try {
    const cases: [string, string[]][] = [
      ['class', ['--class', 'x']],
      ['guidance', ['--class', '0', '--guidance', '-1']],
      ['known-dims', ['--known-dims', '0=abc']],
      ['known', ['--known', 'missing.csv', '--mask', 'missing.csv']],
      ['mask', ['--mask', 'missing.csv']],
    ];
    expect(cases.map(([f]) => f).sort()).toEqual(Object.keys(CONDITIONING_SCHEMA).map(flagName).sort());
    for (const [flag, args] of cases) {
      const r = runCli(['sample', '--oracle', 'mix.json', '--solver', 'ddim', '--n', '4', ...args, '--out', 'never-written.csv'], { cwd: dir });
      expect({ code: r.code, lines: errorLines(r.stderr) }, args.join(' ')).toEqual({ code: 2, lines: [expect.stringMatching(new RegExp(`^sde: --${flag}[: ]`))] });
    }
    expect(fs.existsSync(path.join(dir, 'never-written.csv'))).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every NLL option is a flag of sde nll, and a bad value of each is refused naming it', () => {
  const flags = helpFlags('nll');
  for (const field of Object.keys(NLL_SCHEMA)) expect(flags.has(flagName(field)), `nll --${flagName(field)}`).toBe(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-flags-nll-'));
  fs.writeFileSync(path.join(dir, 'mix.json'), JSON.stringify({ weights: [1], means: [[0, 0]], stds: [1] }));
  fs.writeFileSync(path.join(dir, 'points.csv'), '0,0\n1,1\n');
  try {
    for (const [field, spec] of Object.entries(NLL_SCHEMA as Schema)) {
      const flag = flagName(field);
      // A switch takes no value; the vlb options are given with their method, so the value itself is what is refused.
      const bad = spec.type === 'boolean' ? [`--${flag}=maybe`] : [`--${flag}`, spec.type === 'number' ? '-7.5' : 'no-such-choice'];
      const method = ['steps', 'variance', 'grid'].includes(field) ? ['--method', 'vlb'] : [];
      const r = runCli(['nll', '--oracle', 'mix.json', '--data', 'points.csv', ...method, ...bad], { cwd: dir });
      const problem = spec.type === 'boolean' ? '' : 'expected ';
      expect({ code: r.code, lines: errorLines(r.stderr), stdout: r.stdout }, bad.join(' ')).toEqual({ code: 2, lines: [expect.stringMatching(new RegExp(`^sde: --${flag}: ${problem}`))], stdout: '' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every flag that an error message in src names is an option of some command', () => {
  const all = new Set(COMMANDS.flatMap((c) => [...helpFlags(c)]));
  const named = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.ts')) {
        const text = fs.readFileSync(file, 'utf8');
        // The text of each error construction, up to the end of its statement.
        for (const m of text.matchAll(/(?:UsageError|OptionError)\(([^;]*)/g)) {
          for (const f of m[1].matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) named.set(f[1], path.relative(root, file));
        }
        for (const m of text.matchAll(/new OptionError\('([a-zA-Z]+)'/g)) named.set(flagName(m[1]), path.relative(root, file));
      }
    }
  };
  walk(path.join(root, 'src'));
  expect(named.size).toBeGreaterThan(20);
  const missing = [...named].filter(([flag]) => !all.has(flag)).map(([flag, file]) => `--${flag} (${file})`);
  expect(missing).toEqual([]);
});
