import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MIX } from './fixtures.js';
import { errorLines, spawnCli, STACK_LINE } from './helpers.js';

/**
 * sde sample in chunks: --n far beyond one solver run streams to the CSV with memory that does
 * not grow with --n; chunks are seeded deterministically; a diverged checkpoint is refused.
 */

let dir: string;
const CHUNK = 65_536;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-sample-large-'));
  fs.writeFileSync(path.join(dir, 'mix.json'), JSON.stringify(MIX));
  // A 2-D MLP: a few steps of training are enough, only its size matters here.
  fs.writeFileSync(path.join(dir, 'rss.mjs'), "import fs from 'node:fs';\nprocess.on('exit', () => fs.writeFileSync(process.env.RSS_FILE, String(process.resourceUsage().maxRSS)));\n");
  const t = await spawnCli(['train', '--data', 'moons', '--n-data', '1000', '--iters', '5', '--batch', '64', '--out', 'mlp'], { cwd: dir });
  expect(t.code, t.stderr).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Lines of a file without reading it into one string (the big CSV is ~120 MB). */
function countLines(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let lines = 0;
  let read: number;
  while ((read = fs.readSync(fd, buf, 0, buf.length, null)) > 0) for (let i = 0; i < read; i++) if (buf[i] === 10) lines++;
  fs.closeSync(fd);
  return lines;
}

test('sde sample --n 5000000 of the 2-D MLP completes in chunks, with peak RSS under 1 GiB', async () => {
  const rssFile = path.join(dir, 'rss.txt');
  const started = Date.now();
  const r = await spawnCli(['sample', '--checkpoint', 'mlp', '--solver', 'ddim', '--steps', '1', '--n', '5000000', '--out', 'big.csv', '--json'], {
    cwd: dir,
    nodeArgs: ['--import', path.join(dir, 'rss.mjs')],
    env: { RSS_FILE: rssFile },
    timeoutMs: 280_000,
  });
  const seconds = (Date.now() - started) / 1000;
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout);
  expect(summary).toMatchObject({ n: 5_000_000, files: ['big.csv'], chunks: Math.ceil(5_000_000 / CHUNK), chunkSize: CHUNK });
  const peakMiB = Number(fs.readFileSync(rssFile, 'utf8')) / 1024;
  process.stderr.write(`sde sample --n 5000000: ${seconds.toFixed(1)} s, peak RSS ${peakMiB.toFixed(0)} MiB\n`);
  expect(peakMiB).toBeGreaterThan(10);
  expect(peakMiB).toBeLessThan(1024);
  const file = path.join(dir, 'big.csv');
  expect(countLines(file)).toBe(5_000_000);
  // Every row is two finite numbers; spot-check the last one.
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  const tail = Buffer.alloc(200);
  fs.readSync(fd, tail, 0, 200, size - 200);
  fs.closeSync(fd);
  const last = tail.toString('utf8').trim().split('\n').pop()!.split(',').map(Number);
  expect(last).toHaveLength(2);
  expect(last.every(Number.isFinite)).toBe(true);
  fs.rmSync(file);
}, 300_000);

test('chunks are seeded from (seed, chunk index): the first chunk equals a one-chunk run, the output is reproducible', async () => {
  const args = (n: number, out: string) => ['sample', '--oracle', 'mix.json', '--solver', 'euler-maruyama', '--steps', '3', '--n', String(n), '--seed', '11', '--out', out];
  const [one, two, again] = await Promise.all([
    spawnCli(args(CHUNK, 'one.csv'), { cwd: dir }),
    spawnCli(args(CHUNK + 100, 'two.csv'), { cwd: dir }),
    spawnCli(args(CHUNK + 100, 'again.csv'), { cwd: dir }),
  ]);
  for (const r of [one, two, again]) expect(r.code, r.stderr).toBe(0);
  const rows = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n');
  const a = rows('one.csv');
  const b = rows('two.csv');
  expect(a).toHaveLength(CHUNK);
  expect(b).toHaveLength(CHUNK + 100);
  expect(b.slice(0, CHUNK)).toEqual(a);
  // The second chunk has its own noise, not a copy of the first chunk's start.
  expect(b.slice(CHUNK)).not.toEqual(a.slice(0, 100));
  const hash = (f: string) => createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex');
  expect(hash('again.csv')).toBe(hash('two.csv'));
});

/** Rewrites a checkpoint's weights files with every value multiplied by `factor`, keeping config.json's names, sizes and sha256 consistent. */
function scaleWeights(ckpt: string, factor: number): void {
  const configFile = path.join(ckpt, 'config.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  for (const name of ['model', 'ema']) {
    const entry = config.weights[name];
    if (!entry) continue;
    const bytes = fs.readFileSync(path.join(ckpt, entry.file));
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    for (let i = 0; i < values.length; i++) values[i] = values[i] * factor;
    expect(values.every(Number.isFinite)).toBe(true);
    const out = new Uint8Array(values.buffer);
    const sha256 = createHash('sha256').update(out).digest('hex');
    const file = entry.file.replace(/-[0-9a-f]{8}\.bin$/, `-${sha256.slice(0, 8)}.bin`);
    fs.rmSync(path.join(ckpt, entry.file));
    fs.writeFileSync(path.join(ckpt, file), out);
    config.weights[name] = { ...entry, file, sha256, bytes: out.byteLength };
  }
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
}

test('a finite but diverged checkpoint: exit 2, "samples are not finite" naming the checkpoint, no output file', async () => {
  fs.cpSync(path.join(dir, 'mlp'), path.join(dir, 'diverged'), { recursive: true });
  // Finite weights of 1e30 times their size: the first layer's outputs overflow float32 in the next.
  scaleWeights(path.join(dir, 'diverged'), 1e30);
  const before = fs.readdirSync(dir).sort();
  const r = await spawnCli(['sample', '--checkpoint', 'diverged', '--solver', 'ddim', '--steps', '2', '--n', '100', '--out', 'nan.csv'], { cwd: dir });
  const lines = errorLines(r.stderr);
  expect({ code: r.code, lines, stdout: r.stdout }).toMatchObject({ code: 2, lines: [expect.stringMatching(/^sde: samples are not finite: .*the checkpoint 'diverged' diverged\?/)], stdout: '' });
  expect(r.stderr).not.toMatch(STACK_LINE);
  // Neither the CSV nor its temporary file.
  expect(fs.readdirSync(dir).sort()).toEqual(before);
});
