import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { FILES, makeFixtures } from './fixtures.js';
import { errorLines, limiter, prng, snapshot, spawnCli, STACK_LINE } from './helpers.js';

/*
 * Random argument lists and malformed CSV, mixture and checkpoint files, through the real CLI,
 * with one promise: exit code 0 or 2, never 1 or a signal; on 2 exactly one line on stderr
 * besides 'backend: ...', no stack trace, nothing on stdout and nothing written; on 0 with
 * --json exactly one JSON object on stdout. The PRNG is seeded, so a failure replays; set
 * SDE_FUZZ_SEED or SDE_FUZZ_CASES to explore further. Values that would mean real work (steps,
 * samples, iterations) are kept small, so the cases that pass validation finish in a second.
 */
const SEED = Number(process.env.SDE_FUZZ_SEED ?? 20261123);
const CASES = Number(process.env.SDE_FUZZ_CASES ?? 200);
const MUTANTS = 12;

const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const chance = (p: number) => rand() < p;

// ---- Malformed files ------------------------------------------------------------------------

const JUNK_CHARS = [',', '\n', ' ', 'e', '-', '+', '.', 'x', 'N', '\t', '"', '\0', 'é', '1', '9', '\r', '{', ']', ':'];

/** 1-3 random edits of text: a changed, deleted or inserted character, a cut, a BOM, a repeated line. */
function mutateText(text: string): string {
  let s = text;
  for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
    const i = Math.floor(rand() * (s.length + 1));
    switch (pick(['set', 'delete', 'insert', 'cut', 'bom', 'repeat'])) {
      case 'set': s = s.slice(0, i) + pick(JUNK_CHARS) + s.slice(i + 1); break;
      case 'delete': s = s.slice(0, i) + s.slice(i + 1 + Math.floor(rand() * 8)); break;
      case 'insert': s = s.slice(0, i) + pick(['NaN', 'Inf', '1e39', 'abc', ',,', '\n\n', '-', '1e-50', '0x1F', '']) + s.slice(i); break;
      case 'cut': s = s.slice(0, i); break;
      case 'bom': s = '\uFEFF' + s; break;
      case 'repeat': s = s + s.slice(0, i).split('\n').pop() + '\n'; break;
    }
  }
  return s;
}

const JUNK_VALUES: unknown[] = [null, -1, 0, 1.5, 1e308, -1e-308, 'x', '', [], {}, [1], [[0]], true, [-1, 2], { a: 1 }];

/** The value with one randomly chosen entry (at any depth) replaced by junk. */
function mutateJson(value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(value));
  const containers: [Record<string, unknown>, string][] = [];
  const walk = (v: unknown) => {
    if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        containers.push([v as Record<string, unknown>, k]);
        walk((v as Record<string, unknown>)[k]);
      }
    }
  };
  walk(copy);
  const [obj, key] = pick(containers);
  if (chance(0.15)) delete obj[key];
  else obj[key] = pick(JUNK_VALUES);
  return copy;
}

/** Files named m*.csv, j*.json (mixtures) and ck* (checkpoints with a damaged config.json) in fx. */
function makeMutants(fx: string): { csv: string[]; json: string[]; ckpt: string[] } {
  const out = { csv: [] as string[], json: [] as string[], ckpt: [] as string[] };
  const base = FILES['p2.csv'].split('\n').slice(0, 20).join('\n') + '\n';
  const mix = JSON.parse(FILES['mix.json']);
  const config = JSON.parse(fs.readFileSync(path.join(fx, 'ckpt', 'config.json'), 'utf8'));
  for (let i = 0; i < MUTANTS; i++) {
    fs.writeFileSync(path.join(fx, `m${i}.csv`), mutateText(base));
    out.csv.push(`../fx/m${i}.csv`);
    const json = chance(0.4) ? mutateText(JSON.stringify(mix)) : JSON.stringify(mutateJson(mix));
    fs.writeFileSync(path.join(fx, `j${i}.json`), json);
    out.json.push(`../fx/j${i}.json`);
    const ck = path.join(fx, `ck${i}`);
    fs.cpSync(path.join(fx, 'ckpt'), ck, { recursive: true });
    const text = chance(0.25) ? mutateText(JSON.stringify(config)) : JSON.stringify(mutateJson(config));
    fs.writeFileSync(path.join(ck, 'config.json'), text);
    out.ckpt.push(`../fx/ck${i}`);
  }
  return out;
}

// ---- Argument lists -------------------------------------------------------------------------

const BAD_NUMBERS = ['', ' ', '0', '-1', '-0', '2.5', 'abc', 'NaN', 'Infinity', '-Infinity', '1e400', '0x10', '1e-400', '1,2', '--'];
const ints = (max: number) => ['1', '2', '3', String(max), ...BAD_NUMBERS];
const reals = ['1e-3', '0.5', '1', '0.1', '20', '1e-12', '50', ...BAD_NUMBERS];
const SWITCH = null;
const SOLVERS = ['euler-maruyama', 'reverse-diffusion', 'ddpm', 'pc', 'ode-euler', 'ode-heun', 'ode-rk45', 'ddim', 'dpm-solver', 'dpm-solver++'];

type Pools = Record<string, readonly (string | null)[]>;

const COMMON: Pools = {
  json: [SWITCH],
  backend: ['auto', 'cpu', 'wasm', 'tensorflow', 'gpu', ''],
  help: [SWITCH],
};
const SDE: Pools = {
  sde: ['vp', 'subvp', 've', 'vx', ''],
  schedule: ['linear', 'cosine', '0.1 + 19.9*t', '1 - 2*t', 'exp(', 'x*t', 'log(t)', '1/t', ''],
  'beta-min': reals,
  'beta-max': reals,
  'sigma-min': reals,
  'sigma-max': reals,
};

function sourcePools(files: ReturnType<typeof makeMutants>): Pools {
  return {
    oracle: ['../fx/mix.json', '../fx/mix3.json', '../fx/negstd.json', '../fx/wsum.json', '../fx/garbage.json', 'missing.json', '../fx', ...files.json],
    checkpoint: ['../fx/ckpt', '../fx/ckpt-truncated', '../fx/ckpt-flipped', 'nope', '../fx/p2.csv', ...files.ckpt],
  };
}

function solverPools(): Pools {
  return {
    n: ints(64).concat(['1e9']),
    seed: ['0', '1', '7', '-3', 'x', '2.5', '9007199254740993'],
    eps: ['1e-3', '1e-5', '0.5', '0', '-1', '2', 'x'],
    grid: ['uniform', 'quadratic', 'logsnr', 'linear', ''],
    denoise: [SWITCH],
    rtol: ['1e-2', '1e-3', '0', '-1', 'x', '1e-4'],
    atol: ['1e-2', '1e-3', '0', '-1e-3', 'x'],
    snr: ['0.16', '0', '-1', 'x', '1'],
    'corrector-steps': ['0', '1', '2', '-1', 'x', '1.5'],
    eta: ['0', '0.5', '1', '-0.5', 'x', '2'],
    order: ['2', '3', '1', '4', 'x'],
    variance: ['beta-tilde', 'beta', 'x'],
    map: ['exact', 'score-sde', 'x'],
  };
}

interface Command {
  /** Flags always present (a random draw may replace their values; those that bound the work are never dropped). */
  base: Record<string, string>;
  keep: string[];
  pools: Pools;
}

function commands(files: ReturnType<typeof makeMutants>): Record<string, Command> {
  const data = ['../fx/p2.csv', '../fx/p3.csv', '../fx/small.csv', '../fx/text.csv', '../fx/empty.csv', 'moons', 'rings', 'missing.csv', '../fx', ...files.csv];
  return {
    schedule: {
      base: {},
      keep: [],
      pools: { ...COMMON, ...SDE, discrete: ints(2000), map: ['exact', 'score-sde', 'x'], points: ints(50) },
    },
    sample: {
      base: { oracle: '../fx/mix.json', solver: 'ddim', n: '20', steps: '8', out: 'o.csv' },
      keep: ['n', 'steps'],
      pools: { ...COMMON, ...SDE, ...sourcePools(files), ...solverPools(), solver: [...SOLVERS, 'magic', ''], steps: ints(30), out: ['o.csv', 'o.png', 'o.txt', 'nodir/o.csv', '', '.', 'o.CSV'] },
    },
    compare: {
      base: { oracle: '../fx/mix.json', solvers: 'ddim,dpm-solver', steps: '5,10', tolerances: '1e-2', n: '20' },
      keep: ['solvers', 'steps', 'tolerances', 'n'],
      pools: {
        ...COMMON, ...SDE, ...sourcePools(files), ...solverPools(),
        solvers: ['ddim', 'ddpm,ode-rk45', 'pc,euler-maruyama', 'ddim,,', 'x', '', 'ode-heun,magic'],
        steps: ['5', '5,10', '0', '5,x', '', '3,-1', '1e9x'],
        tolerances: ['1e-2', '1e-2,1e-3', '0', 'x', '', '1e-3,-1'],
        n: ints(40),
        reference: ['../fx/p2.csv', '../fx/p3.csv', '../fx/nan.csv', '../fx/empty.csv', 'missing.csv', ...files.csv],
        report: ['r.html', 'r.txt', 'nodir/r.html', ''],
      },
    },
    train: {
      base: { data: '../fx/p2.csv', iters: '3', batch: '16' },
      keep: ['iters'],
      pools: {
        ...COMMON, ...SDE,
        data,
        objective: ['dsm', 'ddpm', 'elbo'],
        timesteps: ints(1000).concat(['1e12']),
        param: ['eps', 'score', 'x0'],
        weighting: ['eps', 'likelihood', 'x'],
        iters: ints(5),
        batch: ints(32).concat(['1000']),
        lr: reals.concat(['1e30']),
        warmup: ints(10),
        'grad-clip': reals,
        ema: ['0', '0.5', '0.999', '1', '-0.1', 'x'],
        seed: ['0', '5', '-1', 'x'],
        'n-data': ints(100),
        // ck: a copy of the good checkpoint, ckN: of a damaged one (made in the case's directory).
        out: ['run', 'ck', 'ck', 'nodir/run', '', '../fx/p2.csv', ...files.ckpt.map((c) => path.basename(c))],
        resume: [SWITCH],
        'checkpoint-every': ints(2),
      },
    },
    nll: {
      base: { oracle: '../fx/mix.json', data: '../fx/q.csv', rtol: '1e-3', atol: '1e-3' },
      keep: ['data'],
      pools: {
        ...COMMON, ...SDE, ...sourcePools(files),
        data: ['../fx/q.csv', '../fx/p3.csv', '../fx/nan.csv', '../fx/empty.csv', 'missing.csv', ...files.csv],
        method: ['ode', 'vlb', 'x'],
        seed: ['0', '3', '-1', 'x'],
        eps: ['1e-5', '1e-3', '0', '2', 'x'],
        rtol: ['1e-3', '1e-2', '0', 'x'],
        atol: ['1e-3', '0', '-1'],
        hutchinson: ['rademacher', 'gaussian', 'x'],
        steps: ints(50),
        variance: ['beta', 'beta-tilde', 'x'],
        grid: ['uniform', 'logsnr', 'x'],
        dequantize: [SWITCH],
        batch: ints(20),
      },
    },
    demo: { base: { iters: '1', n: '2', bogus: 'x' }, keep: ['bogus'], pools: { ...COMMON, iters: ints(2), n: ints(4), out: ['d', '', '../fx/p2.csv'] } },
  };
}

/** One random argument list (and whether its working directory needs a copy of the checkpoint). */
function randomArgs(cmds: Record<string, Command>): string[] {
  if (chance(0.03)) return pick([[], ['--help'], ['frobnicate'], ['--json'], ['sample', '--', 'x'], ['-x'], ['train', '---data']]);
  const name = pick(['schedule', 'sample', 'sample', 'sample', 'compare', 'compare', 'train', 'train', 'train', 'nll', 'demo']);
  const cmd = cmds[name];
  const flags = new Map<string, string | null>(Object.entries(cmd.base));
  const keys = Object.keys(cmd.pools);
  if (name === 'train' && chance(0.3)) {
    // Continue the good checkpoint or a damaged one.
    flags.set('resume', null);
    flags.set('out', pick(cmd.pools.out.filter((o) => /^ck\d*$/.test(o ?? ''))));
  }
  for (let k = Math.floor(rand() * 5); k > 0; k--) {
    const key = pick(keys);
    flags.set(key, chance(0.85) ? pick(cmd.pools[key]) : pick(BAD_NUMBERS));
  }
  if (chance(0.1)) flags.delete(pick([...flags.keys()].filter((k) => !cmd.keep.includes(k))) ?? '');
  if (name === 'sample' && flags.get('solver') === 'ode-rk45') flags.delete('steps');
  const args = [name];
  for (const [key, value] of flags) {
    if (value === null) args.push(`--${key}`);
    else if (chance(0.15)) args.push(`--${key}=${value}`);
    else args.push(`--${key}`, value);
  }
  if (chance(0.06)) args.push(`--${pick(['bogus', 'Steps', 'n-samples', 'n'])}`, pick(['1', 'x']));
  if (chance(0.04)) args.push(pick(['stray', '-', '--', '-z', '=', '--=x']));
  return args;
}

// ---- The test -------------------------------------------------------------------------------

let root: string;
let fx: string;
let cases: string[][];

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-fuzz-'));
  fx = path.join(root, 'fx');
  fs.mkdirSync(fx);
  await makeFixtures(fx);
  const files = makeMutants(fx);
  const cmds = commands(files);
  cases = Array.from({ length: CASES }, () => randomArgs(cmds));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test(`fuzz: ${CASES} random argument lists (seed ${SEED}) exit with 0 or 2, one line on error, nothing left behind`, async () => {
  const fixtures = snapshot(fx);
  const run = limiter(3);
  const failures: string[] = [];
  let passed = 0;
  const exits: Record<string, number> = {};
  await Promise.all(cases.map((args, i) => run(async () => {
    const cwd = path.join(root, `case-${i}`);
    fs.mkdirSync(cwd);
    for (const a of args.filter((v) => /^ck\d*$/.test(v))) fs.cpSync(path.join(fx, a === 'ck' ? 'ckpt' : a), path.join(cwd, a), { recursive: true });
    const before = snapshot(cwd);
    const r = await spawnCli(args, { cwd, timeoutMs: 60_000 });
    const lines = errorLines(r.stderr);
    exits[String(r.code ?? r.signal)] = (exits[String(r.code ?? r.signal)] ?? 0) + 1;
    const problems: string[] = [];
    if (r.code !== 0 && r.code !== 2) problems.push(`exit ${r.code ?? r.signal}`);
    if (STACK_LINE.test(r.stderr)) problems.push('stack trace');
    if (r.code === 2) {
      if (lines.length !== 1) problems.push(`${lines.length} stderr lines`);
      if (r.stdout !== '') problems.push('output on stdout');
      if (JSON.stringify(snapshot(cwd)) !== JSON.stringify(before)) problems.push(`files left: ${snapshot(cwd).join(' ')}`);
    }
    if (r.code === 0 && args.includes('--json') && !args.some((a) => a === '--help')) {
      try {
        JSON.parse(r.stdout);
      } catch {
        problems.push('--json output is not one JSON object');
      }
    }
    if (problems.length) failures.push(`sde ${args.map((a) => JSON.stringify(a)).join(' ')}: ${problems.join(', ')}\n  ${r.stderr.trim().split('\n').slice(-3).join('\n  ')}`);
    else passed++;
    fs.rmSync(cwd, { recursive: true, force: true });
  })));
  console.log(`fuzz seed ${SEED}: exit codes ${JSON.stringify(exits)}`);
  expect(failures).toEqual([]);
  expect(passed).toBe(CASES);
  expect(snapshot(fx)).toEqual(fixtures);
}, 900_000);
