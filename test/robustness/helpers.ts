import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI } from '../cli/run-cli.js';

export { CLI, errorLines } from '../cli/run-cli.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Flags for node itself (e.g. --import of a preload script). */
  nodeArgs?: string[];
  /** Kill with SIGKILL after this long (default 120 s). */
  timeoutMs?: number;
  /** Called with the stderr seen so far each time more arrives, and the child. */
  onStderr?: (stderr: string, child: ReturnType<typeof spawn>) => void;
}

/** Runs `sde ...args` as a child process without blocking the test process. */
export function spawnCli(args: string[], o: SpawnOptions): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), CLI, ...args], {
      cwd: o.cwd,
      env: { ...process.env, SDE_DEBUG: '', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      o.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A limit on how many CLI processes run at once (the machine has few cores). */
export function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= max) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Every file under dir with its size, relative paths sorted: what a command left behind. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${path.relative(dir, p)}/`);
        walk(p);
      } else out.push(`${path.relative(dir, p)} ${fs.statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** A stack-trace line ("    at f (file:1:2)") anywhere in the text. */
export const STACK_LINE = /^\s+at .+[(:]/m;

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n rows of d Gaussian-ish values (deterministic), as CSV text. */
export function csvRows(n: number, d: number, seed: number, mean = 0): string {
  const u = prng(seed);
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    rows.push(Array.from({ length: d }, (_, j) => (mean + j + Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u())).toFixed(6)).join(','));
  }
  return rows.join('\n') + '\n';
}

/** The weights entries of a checkpoint's config.json. */
export function weightsFiles(dir: string): Record<'model' | 'ema' | 'optimizer', { file: string; sha256: string }> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).weights;
}
