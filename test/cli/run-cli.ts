import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The built CLI entry point (npm test builds it before vitest runs). SDE_TEST_DIST names another
 * build folder, so that a change can be tested from its own build while dist/ is in use.
 */
export const DIST = path.resolve(root, process.env.SDE_TEST_DIST ?? 'dist');
export const CLI = path.join(DIST, 'cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sde ...args` as a user would, in `cwd` (default: the repository root). */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The stderr lines other than the one-time backend announcement. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('backend: '));
}
