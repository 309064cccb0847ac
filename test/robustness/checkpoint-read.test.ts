import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { csvRows, spawnCli } from './helpers.js';

/*
 * Readers see one whole checkpoint while a training run saves into the same directory (issue
 * 12, item 3): a writer saves after every step (--checkpoint-every 1) while this process loads
 * the checkpoint in a loop and `sde sample` reads it through the real CLI. A naive reader (read
 * config.json, then the files it lists, no retry) is run alongside to show the race is real.
 */

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-torn-'));
  fs.writeFileSync(path.join(dir, 'p.csv'), csvRows(300, 2, 7, 1));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const tick = () => new Promise<void>((r) => setImmediate(r));

/** One read without retry: true when every file the config.json read lists could be read. */
function naiveRead(run: string): boolean {
  const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
  try {
    for (const w of Object.values(config.weights) as { file: string }[]) fs.readFileSync(path.join(run, w.file));
    return true;
  } catch {
    return false;
  }
}

test('a reader looping while a writer saves every step always loads one whole checkpoint', async () => {
  const run = path.join(dir, 'w');
  let child: { kill(s: NodeJS.Signals): boolean } | undefined;
  const writer = spawnCli(['train', '--data', 'p.csv', '--batch', '16', '--iters', '1000000', '--checkpoint-every', '1', '--out', 'w', '--json'], {
    cwd: dir,
    timeoutMs: 110_000,
    onStderr: (_s, c) => (child = c),
  });
  while (!fs.existsSync(path.join(run, 'config.json'))) await new Promise((r) => setTimeout(r, 50));

  const failures: string[] = [];
  const steps = new Set<number>();
  let reads = 0;
  let naive = 0;
  let naiveFailures = 0;
  const until = Date.now() + 6000;
  while (Date.now() < until) {
    try {
      const c = loadCheckpoint(run);
      steps.add(c.step);
      c.dispose();
    } catch (e) {
      failures.push((e as Error).message);
    }
    reads++;
    naive++;
    if (!naiveRead(run)) naiveFailures++;
    await tick();
  }
  // The real CLI, while the writer keeps saving.
  const samples = [];
  for (let i = 0; i < 4; i++) samples.push(await spawnCli(['sample', '--checkpoint', 'w', '--solver', 'ddim', '--steps', '3', '--n', '5', '--json'], { cwd: dir }));
  child!.kill('SIGINT');
  const w = await writer;
  console.log(`torn reads: ${reads} loads, ${failures.length} failures, ${steps.size} distinct steps; naive reads: ${naiveFailures} of ${naive} failed`);
  expect(w.code).toBe(0);
  expect(failures).toEqual([]);
  expect(samples.map((s) => s.code)).toEqual([0, 0, 0, 0]);
  expect(samples.map((s) => s.stderr).join('')).not.toMatch(/missing|damaged|truncated/);
  // The writer really saved during the reads: many different checkpoints were seen.
  expect(reads).toBeGreaterThan(50);
  expect(steps.size).toBeGreaterThan(20);
});
