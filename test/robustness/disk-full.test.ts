import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { csvRows, errorLines, spawnCli, STACK_LINE, weightsFiles } from './helpers.js';

/*
 * A full disk during `sde train` (issue 12, item 2): exit 2 and one line naming --out and the
 * file, the previous checkpoint whole, no stray files (no temporary file, no orphaned weights,
 * no lock), and the run resumable. The failure is injected with a preload that makes the nth
 * write of a matching file fail with ENOSPC after half its bytes (works anywhere); where this
 * process may mount a tmpfs (root), a real 1 MiB file system fills up too.
 */

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'enospc.mjs');
const BASE = ['train', '--data', 'p.csv', '--batch', '32'];
const TRAIN = [...BASE, '--checkpoint-every', '10'];
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-enospc-'));
  fs.writeFileSync(path.join(dir, 'p.csv'), csvRows(300, 2, 7, 1));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const full = (args: string[], file: string, nth: number) =>
  spawnCli(args, { cwd: dir, nodeArgs: ['--import', PRELOAD], env: { SDE_ENOSPC_AT: JSON.stringify({ file, nth }) } });
const files = (run: string) => fs.readdirSync(path.join(dir, run)).sort();
const step = (run: string) => JSON.parse(fs.readFileSync(path.join(dir, run, 'config.json'), 'utf8')).step;

describe('a full disk in sde train', () => {
  test.each([
    ['the EMA weights', '^ema-', /^sde: --out: a\/ema-00000020-[0-9a-f]{8}\.bin: cannot write: no space left on device \(ENOSPC\); the checkpoint of step 10 is kept$/],
    ['config.json', '^config\\.json$', /^sde: --out: a\/config\.json: cannot write: no space left on device \(ENOSPC\); the checkpoint of step 10 is kept$/],
  ])('while writing %s: exit 2, one line naming --out and the file, the previous checkpoint whole, no stray files', async (_what, file, pattern) => {
    fs.rmSync(path.join(dir, 'a'), { recursive: true, force: true });
    const r = await full([...TRAIN, '--iters', '40', '--out', 'a'], file, 2);
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).toBe('');
    expect(step('a')).toBe(10);
    const w = weightsFiles(path.join(dir, 'a'));
    expect(files('a')).toEqual(['config.json', w.ema.file, 'log.jsonl', w.model.file, w.optimizer.file].sort());
    // The checkpoint left is whole: it samples, and the run resumes to the end.
    const s = await spawnCli(['sample', '--checkpoint', 'a', '--solver', 'ddim', '--steps', '3', '--n', '5', '--out', 'a.csv'], { cwd: dir });
    expect(s.code).toBe(0);
    const resumed = await spawnCli([...TRAIN, '--iters', '40', '--out', 'a', '--resume'], { cwd: dir });
    expect(resumed.code).toBe(0);
    expect(step('a')).toBe(40);
  });

  test('at the first checkpoint of a new run: exit 2, no directory left behind', async () => {
    const r = await full([...TRAIN, '--iters', '40', '--out', 'b'], '^model-', 1);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^sde: --out: b\/model-00000010-[0-9a-f]{8}\.bin: cannot write: no space left on device \(ENOSPC\); no checkpoint was written$/)]);
    expect(fs.existsSync(path.join(dir, 'b'))).toBe(false);
  });

  test('in log.jsonl: exit 2 naming it, the checkpoint kept', async () => {
    const r = await full([...BASE, '--iters', '300', '--checkpoint-every', '50', '--out', 'c'], '^log\\.jsonl$', 3); // 1: the fresh empty log, 2: the line of step 100, 3: of step 200
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr).filter((l) => !/^step \d+\//.test(l)); // progress lines of steps 100 and 200
    expect(lines).toEqual([expect.stringMatching(/^sde: --out: c\/log\.jsonl: cannot write: no space left on device \(ENOSPC\); the checkpoint of step 150 is kept$/)]);
    expect(step('c')).toBe(150);
    expect(files('c').filter((f) => f.startsWith('.'))).toEqual([]);
  });

  // A real full file system: a 1 MiB tmpfs holds one checkpoint of the default MLP (about 0.6 MB) but not two at once.
  const mnt = path.join(os.tmpdir(), `sde-tmpfs-${process.pid}`);
  fs.mkdirSync(mnt, { recursive: true });
  const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });
  test.skipIf(!mounted)('on a real 1 MiB tmpfs: exit 2 naming the file, the first checkpoint whole, no stray files', async () => {
    fs.copyFileSync(path.join(dir, 'p.csv'), path.join(mnt, 'p.csv'));
    const r = await spawnCli([...TRAIN, '--iters', '30', '--out', 'run'], { cwd: mnt });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^sde: --out: run\/(model|ema|optimizer)-00000020-[0-9a-f]{8}\.bin: cannot write: no space left on device \(ENOSPC\); the checkpoint of step 10 is kept$/)]);
    const run = path.join(mnt, 'run');
    expect(JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')).step).toBe(10);
    const w = weightsFiles(run);
    expect(fs.readdirSync(run).sort()).toEqual(['config.json', w.ema.file, 'log.jsonl', w.model.file, w.optimizer.file].sort());
    const s = await spawnCli(['sample', '--checkpoint', 'run', '--solver', 'ddim', '--steps', '3', '--n', '5', '--json'], { cwd: mnt });
    expect(s.code).toBe(0);
  });
});
