import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { csvRows, errorLines, spawnCli, STACK_LINE, type CliRun } from './helpers.js';

/*
 * One writer per run directory (issue 12, item 3), with real processes: two `sde train --out D`
 * started together, or two --resume of D, give one run and one refusal (exit 2 naming the
 * holder's pid); log.jsonl holds one run's lines; a stale lock of a dead process is taken over;
 * the lock goes when the run ends (normally, on bad input, on Ctrl-C).
 */

const TRAIN = ['train', '--data', 'p.csv', '--batch', '16'];
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-lock-'));
  fs.writeFileSync(path.join(dir, 'p.csv'), csvRows(300, 2, 7, 1));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const lockOf = (run: string) => path.join(dir, run, '.lock');
const logSteps = (run: string) => fs.readFileSync(path.join(dir, run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number);

/**
 * Starts two long runs on one directory at the same moment; when one has exited (refused), stops
 * the other with SIGINT (it saves and exits 0). Returns both results and pids.
 */
async function race(args: string[]): Promise<{ runs: CliRun[]; pids: number[] }> {
  const children: ReturnType<typeof spawn>[] = [];
  let refused = false;
  const stopOthers = () => {
    if (refused) return;
    refused = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
  };
  const one = async () => {
    let pid = 0;
    const run = await spawnCli(args, {
      cwd: dir,
      onStderr: (_stderr, child) => {
        if (!children.includes(child)) children.push(child);
        pid = child.pid!;
      },
    });
    if (run.code === 2) stopOthers();
    return { run, pid };
  };
  const both = await Promise.all([one(), one()]);
  return { runs: both.map((b) => b.run), pids: both.map((b) => b.pid) };
}

describe('the run directory lock', () => {
  test('two sde train --out D started together: one trains, the other exits 2 naming the holder; one run in log.jsonl', async () => {
    const { runs } = await race([...TRAIN, '--iters', '100000', '--checkpoint-every', '20000', '--out', 'd', '--json']);
    const codes = runs.map((r) => r.code).sort();
    expect(codes).toEqual([0, 2]);
    const winner = runs.find((r) => r.code === 0)!;
    const loser = runs.find((r) => r.code === 2)!;
    const lines = errorLines(loser.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sde: --out: 'd' is in use by another sde train \(pid \d+, since \d{4}-\d\d-\d\dT[\d:.]+Z\); wait for it to finish or choose another directory$/);
    expect(loser.stderr).not.toMatch(STACK_LINE);
    expect(loser.stdout).toBe('');
    const summary = JSON.parse(winner.stdout);
    expect(summary.stopped).toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'd', 'config.json'), 'utf8'));
    expect(config.step).toBe(summary.step);
    // One run's log: steps 100, 200, ... strictly increasing, ending at the last step.
    const steps = logSteps('d');
    expect(steps.every((s, i) => i === 0 || s > steps[i - 1])).toBe(true);
    expect(steps[steps.length - 1]).toBe(summary.step);
    expect(fs.existsSync(lockOf('d'))).toBe(false);
  });

  test('the refusal names the pid of the process that holds the lock', async () => {
    const { runs, pids } = await race([...TRAIN, '--iters', '100000', '--checkpoint-every', '50', '--out', 'd', '--resume', '--json']);
    expect(runs.map((r) => r.code).sort()).toEqual([0, 2]);
    const loserIndex = runs.findIndex((r) => r.code === 2);
    const holder = pids[1 - loserIndex];
    expect(errorLines(runs[loserIndex].stderr)).toEqual([expect.stringMatching(new RegExp(`^sde: --out: 'd' is in use by another sde train \\(pid ${holder}, since `))]);
    expect(fs.existsSync(lockOf('d'))).toBe(false);
  });

  test('a stale lock of a dead process is taken over; the lock is gone after the run', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('exit', r));
    expect((await spawnCli([...TRAIN, '--iters', '20', '--checkpoint-every', '10', '--out', 's'], { cwd: dir })).code).toBe(0);
    fs.writeFileSync(lockOf('s'), JSON.stringify({ pid: dead.pid, host: os.hostname(), started: new Date().toISOString() }) + '\n');
    const r = await spawnCli([...TRAIN, '--iters', '30', '--out', 's', '--resume', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).step).toBe(30);
    expect(fs.existsSync(lockOf('s'))).toBe(false);
  });

  test('a live lock of another host is not taken over: exit 2 naming host and lock file, which stays', async () => {
    const lock = JSON.stringify({ pid: 1, host: 'elsewhere.example', started: '2025-01-01T00:00:00.000Z' }) + '\n';
    fs.writeFileSync(lockOf('s'), lock);
    const r = await spawnCli([...TRAIN, '--iters', '40', '--out', 's', '--resume'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([`sde: --out: 's' is in use by another sde train (pid 1 on host elsewhere.example, since 2025-01-01T00:00:00.000Z); remove ${path.join('s', '.lock')} if that run is gone`]);
    expect(fs.readFileSync(lockOf('s'), 'utf8')).toBe(lock);
    fs.rmSync(lockOf('s'));
  });

  test('bad input after the lock was taken (a contradicting flag on resume) leaves no lock', async () => {
    const r = await spawnCli([...TRAIN, '--iters', '40', '--out', 's', '--resume', '--seed', '9'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^sde: --seed: the checkpoint in 's' was trained with 0, not 9/)]);
    expect(fs.existsSync(lockOf('s'))).toBe(false);
  });
});
