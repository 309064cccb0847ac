import fs from 'node:fs';
import path from 'node:path';
import { csvRows, spawnCli, weightsFiles } from './helpers.js';

export const MIX = { weights: [0.2, 0.3, 0.5], means: [[0, 3], [-2.6, -1.5], [2.6, -1.5]], stds: [0.4, 0.4, 0.4] };

/** Text files the bad-input and fuzz tests read: good and bad CSV and mixture JSON. */
export const FILES: Record<string, string> = {
  'p2.csv': csvRows(300, 2, 1, 3),
  'p3.csv': csvRows(300, 3, 2),
  'small.csv': csvRows(100, 2, 3),
  'q.csv': csvRows(20, 2, 4),
  'text.csv': '1,2\n3,abc\n',
  'header.csv': 'x,y\n1,2\n3,4\n',
  'ragged.csv': '1,2\n3\n4,5\n',
  'nan.csv': '1,2\nNaN,3\n',
  'inf.csv': '1,2\n3,-Inf\n',
  'overflow.csv': '1,2\n3,1e39\n',
  'empty.csv': '',
  'blank.csv': '\n\n  \n',
  'mix.json': JSON.stringify(MIX),
  'mix3.json': JSON.stringify({ weights: [0.5, 0.5], means: [[0, 0, 0], [1, 1, 1]], stds: [1, 1] }),
  'negstd.json': JSON.stringify({ ...MIX, stds: [0.4, -1, 0.4] }),
  'wsum.json': JSON.stringify({ ...MIX, weights: [0.2, 0.3, 0.6] }),
  'mixdim.json': JSON.stringify({ ...MIX, means: [[0, 3], [-2.6, -1.5, 0], [2.6, -1.5]] }),
  'garbage.json': '{"weights": [0.5, 0.5], "means": [[0',
};

/**
 * Writes FILES into dir, trains a small checkpoint `ckpt` through the CLI (20 steps on p2.csv)
 * and makes damaged copies of it: a truncated weights file, one with a flipped byte, a garbage
 * and an empty config.json, and a missing weights file.
 */
export async function makeFixtures(dir: string): Promise<void> {
  for (const [name, text] of Object.entries(FILES)) fs.writeFileSync(path.join(dir, name), text);
  const r = await spawnCli(['train', '--data', 'p2.csv', '--iters', '20', '--batch', '32', '--checkpoint-every', '10', '--out', 'ckpt'], { cwd: dir });
  if (r.code !== 0) throw new Error(`fixture checkpoint: ${r.stderr}`);
  const copy = (name: string, damage: (dir: string, w: ReturnType<typeof weightsFiles>) => void) => {
    const d = path.join(dir, name);
    fs.cpSync(path.join(dir, 'ckpt'), d, { recursive: true });
    damage(d, weightsFiles(d));
  };
  copy('ckpt-truncated', (d, w) => {
    const f = path.join(d, w.model.file);
    fs.truncateSync(f, fs.statSync(f).size - 100);
  });
  copy('ckpt-flipped', (d, w) => {
    const f = path.join(d, w.ema.file);
    const bytes = fs.readFileSync(f);
    bytes[bytes.length >> 1] ^= 0x10;
    fs.writeFileSync(f, bytes);
  });
  copy('ckpt-garbage-config', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"format": "sde-checkpoint", "step": 2\u0000\u0007 garbage'));
  copy('ckpt-empty-config', (d) => fs.writeFileSync(path.join(d, 'config.json'), ''));
  copy('ckpt-missing-weights', (d, w) => fs.rmSync(path.join(d, w.ema.file)));
}
