import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MIX } from './fixtures.js';
import { errorLines, limiter, snapshot, spawnCli, STACK_LINE } from './helpers.js';

/**
 * Outputs that cannot be written, through the real CLI: exit 2 and one line naming the flag and
 * the path, no stack trace, no file written. Unwritable directories are made the two ways that
 * hold for root too (CI runs as root): a path below a regular file (ENOTDIR), and a read-only
 * tmpfs mount (EROFS); a tiny writable tmpfs fills up during the write (ENOSPC). The mounts need
 * root: they are not skipped elsewhere, a failed mount fails the tests.
 */

let dir: string;
const mounts: string[] = [];
const run = limiter(3);

/** Mounts a tmpfs of `size` at dir/name (options e.g. 'ro'); unmounted in afterAll. */
function mountTmpfs(name: string, size: string, options = ''): string {
  const target = path.join(dir, name);
  fs.mkdirSync(target);
  execFileSync('mount', ['-t', 'tmpfs', '-o', [options, `size=${size}`].filter(Boolean).join(','), 'tmpfs', target]);
  mounts.push(target);
  return target;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-outputs-'));
  fs.writeFileSync(path.join(dir, 'mix.json'), JSON.stringify(MIX));
  fs.writeFileSync(path.join(dir, 'file.csv'), '1,2\n3,4\n');
  mountTmpfs('ro', '1m', 'ro');
  // A run directory (log.jsonl) on a file system made read-only after its files were written.
  const run = mountTmpfs('rorun', '1m');
  fs.writeFileSync(path.join(run, 'log.jsonl'), '{"step":1,"loss":1.5}\n{"step":2,"loss":1.2}\n');
  execFileSync('mount', ['-o', 'remount,ro', run]);
  mountTmpfs('full', '64k');
  // One page: room for the probe byte, not for an HTML report.
  mountTmpfs('tiny', '4k');
});

afterAll(() => {
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const ORACLE = ['--oracle', 'mix.json'];
const SAMPLE = ['sample', ...ORACLE, '--solver', 'ddim', '--steps', '2', '--n', '20'];
const COMPARE = ['compare', ...ORACLE, '--solvers', 'ddim', '--steps', '2', '--n', '50'];

/** Output paths refused before any work: exactly one line on stderr (not even the backend line). */
const BEFORE_WORK: [string, string[], RegExp][] = [
  ['sample --out on a read-only mount', [...SAMPLE, '--out', 'ro/x.csv'], /^sde: --out: cannot write to directory 'ro': read-only file system \(EROFS\)$/],
  ['sample --out FILE/ (a path below a file)', [...SAMPLE, '--out', 'file.csv/'], /^sde: --out: 'file\.csv\/' ends with a path separator; expected a file name$/],
  ['sample --out below a regular file', [...SAMPLE, '--out', 'file.csv/x.csv'], /^sde: --out: 'file\.csv' is not a directory$/],
  ['sample --out two levels below a regular file', [...SAMPLE, '--out', 'file.csv/a/x.csv'], /^sde: --out: 'file\.csv\/a' is not a directory \(a file is on its path\)$/],
  ['compare --report on a read-only mount', [...COMPARE, '--report', 'ro/r.html'], /^sde: --report: cannot write to directory 'ro': read-only file system \(EROFS\)$/],
  ['compare --report below a regular file', [...COMPARE, '--report', 'file.csv/r.html'], /^sde: --report: 'file\.csv' is not a directory$/],
  ['data --out on a read-only mount', ['data', '--data', 'moons', '--n', '10', '--out', 'ro/d.csv'], /^sde: --out: cannot write to directory 'ro': read-only file system \(EROFS\)$/],
  ['data --out below a regular file', ['data', '--data', 'moons', '--n', '10', '--out', 'file.csv/d.csv'], /^sde: --out: 'file\.csv' is not a directory$/],
  ['demo --out on a read-only mount', ['demo', '--iters', '2', '--n', '20', '--out', 'ro/demo'], /^sde: --out: cannot write to directory 'ro': read-only file system \(EROFS\)$/],
  ['demo --out a read-only mount itself', ['demo', '--iters', '2', '--n', '20', '--out', 'ro'], /^sde: --out: cannot write to directory 'ro': read-only file system \(EROFS\)$/],
  ['demo --out below a regular file', ['demo', '--iters', '2', '--n', '20', '--out', 'file.csv/demo'], /^sde: --out: 'file\.csv\/demo' is not a directory \(a file is on its path\)$/],
  ['classify --train --out on a read-only mount', ['classify', '--train', '--iters', '1', '--out', 'ro/clf'], /^sde: --out: cannot write to directory 'ro': read-only file system \(EROFS\)$/],
  ['train --out on a read-only mount', ['train', '--data', 'moons', '--iters', '2', '--out', 'ro/run'], /^sde: --out: cannot write to directory 'ro': read-only file system \(EROFS\)$/],
  ['train --out below a regular file', ['train', '--data', 'moons', '--iters', '2', '--out', 'file.csv/run'], /^sde: --out: 'file\.csv\/run' is not a directory \(a file is on its path\)$/],
  ['train --out a regular file', ['train', '--data', 'moons', '--iters', '2', '--out', 'file.csv'], /^sde: --out: 'file\.csv' exists and is not a directory$/],
  ['train --resume --out a regular file', ['train', '--resume', '--iters', '2', '--out', 'file.csv'], /^sde: --out: 'file\.csv' exists and is not a directory$/],
  ['train --out an empty name', ['train', '--data', 'moons', '--iters', '2', '--out', ''], /^sde: --out: expected a directory name, got an empty string$/],
  ['report of a run on a read-only mount', ['report', 'rorun'], /^sde: <dir>: cannot write to directory 'rorun': read-only file system \(EROFS\)$/],
];

describe.concurrent('an output that cannot be written is refused before the work: exit 2, one line naming the flag and path', () => {
  test.each(BEFORE_WORK)('%s', async (_name, args, pattern) => {
    const r = await run(() => spawnCli(args, { cwd: dir }));
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect({ code: r.code, lines, stdout: r.stdout }).toMatchObject({ code: 2, lines: [expect.stringMatching(pattern)], stdout: '' });
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe('a disk that fills up during the write: exit 2 naming the flag and path, no file and no temporary left', () => {
  // Sequential: the cases share the 64 KiB tmpfs.
  test.each([
    ['sample (streamed in chunks)', ['sample', ...ORACLE, '--solver', 'ddim', '--steps', '2', '--n', '100000', '--out', 'full/x.csv'], /^sde: --out: cannot write 'full\/x\.csv': no space left on the device \(ENOSPC\)$/],
    ['data', ['data', '--data', 'moons', '--n', '100000', '--out', 'full/d.csv'], /^sde: --out: cannot write 'full\/d\.csv': no space left on the device \(ENOSPC\)$/],
    ['compare --report, after the comparison ran', [...COMPARE, '--report', 'tiny/r.html'], /^sde: --report: cannot write 'tiny\/r\.html': no space left on the device \(ENOSPC\)$/],
  ])('%s', async (_name, args, pattern) => {
    const mount = (args.find((a) => /^(full|tiny)\//.test(a)) ?? '').split('/')[0];
    const before = snapshot(dir).filter((f) => !f.startsWith(`${mount}/`));
    const r = await spawnCli(args, { cwd: dir });
    // Progress lines (a bar, off a terminal every 5 s) and per-result lines are not errors.
    const lines = errorLines(r.stderr).filter((l) => !/^(chunk \d|[\w+-]+ \d+ steps: )/.test(l) && !/\[[#.]{20}\]/.test(l));
    expect({ code: r.code, lines, stdout: r.stdout }).toMatchObject({ code: 2, lines: [expect.stringMatching(pattern)], stdout: '' });
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(fs.readdirSync(path.join(dir, mount))).toEqual([]);
    expect(snapshot(dir).filter((f) => !f.startsWith(`${mount}/`))).toEqual(before);
  });
});

test('the same commands write where they can (the checks do not refuse a good path)', async () => {
  const r = await spawnCli([...SAMPLE, '--out', 'ok.csv', '--json'], { cwd: dir });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).files).toEqual(['ok.csv']);
  expect(fs.readFileSync(path.join(dir, 'ok.csv'), 'utf8').trim().split('\n')).toHaveLength(20);
  // No probe or temporary file is left beside it.
  expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
});
