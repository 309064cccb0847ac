import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, runCli } from './run-cli.js';

/**
 * The progress line through the built CLI: on a pseudo-terminal (util-linux `script`) one line
 * redrawn in place and ended by a newline; none under --json; off a terminal no carriage returns.
 */
let dir: string;
const MIX = { weights: [0.2, 0.3, 0.5], means: [[0, 3], [-2.6, -1.5], [2.6, -1.5]], stds: [0.4, 0.4, 0.4] };
/** Long enough (a few seconds) to pass the 1 s delay and redraw several times. */
const SAMPLE = ['sample', '--oracle', 'mix.json', '--solver', 'euler-maruyama', '--steps', '300', '--n', '20000', '--out', 'x.csv'];
const hasScript = spawnSync('script', ['--version']).status === 0;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-progress-'));
  fs.writeFileSync(path.join(dir, 'mix.json'), JSON.stringify(MIX));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What a terminal shows of `sde ...args` (stdout and stderr together) run on a pseudo-terminal. */
function onTerminal(args: string[]): { code: number | null; screen: string } {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  const r = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, screen: r.stdout };
}

/** A run of bar redraws (each `\r\x1b[2K` and the line) and the newline that ends it. */
const BAR_LINE = /((?:\r\x1b\[2Ksample euler-maruyama \[[#.]{20}\][^\r\n]*)+)\r?\n/;

describe.skipIf(!hasScript)('on a terminal', () => {
  test('sde sample redraws one progress line in place and ends it with a newline', () => {
    const { code, screen } = onTerminal(SAMPLE);
    expect(code).toBe(0);
    const m = screen.match(BAR_LINE);
    expect(m, JSON.stringify(screen.slice(0, 400))).not.toBeNull();
    // Every escape of the screen lies in that one line.
    expect(screen.split('\x1b[2K')).toHaveLength(m![1].split('\x1b[2K').length);
    const draws = m![1].split('\r\x1b[2K').slice(1);
    expect(draws.length).toBeGreaterThanOrEqual(3);
    for (const d of draws) expect(d).toMatch(/^sample euler-maruyama \[[#.]{20}\] +\d+% +\d+\/300 steps {2}\d+\.\d (it\/s|s\/it) {2}elapsed \d+s {2}ETA (\d+s|\?)$/);
    expect(draws[draws.length - 1]).toMatch(/\[#{20}\] 100% {2}300\/300 steps/);
    // The result follows on its own line.
    expect(screen.slice(m!.index! + m![0].length)).toMatch(/^20000 samples from oracle mix\.json with euler-maruyama: 300 steps/);
  }, 60_000);

  test('sde compare prints each result on its own line above the bar, and the table after the last bar', () => {
    const { code, screen } = onTerminal(['compare', '--oracle', 'mix.json', '--solvers', 'euler-maruyama', '--steps', '200,400', '--n', '5000']);
    expect(code).toBe(0);
    // Every bar is drawn from the start of a cleared line; a result clears the bar before it is written.
    expect(screen.split('compare [').length - 1).toBe(screen.split('\r\x1b[2Kcompare [').length - 1);
    expect(screen).toMatch(/(^|\r\x1b\[2K|\n)euler-maruyama 200 steps: [^\r\n]*\r?\n/);
    expect(screen).toMatch(/\r\x1b\[2Kcompare \[#{20}\] 100% {2}2\/2 cells[^\r\n]*\r?\n +solver +steps/);
  }, 60_000);

  test('with --json there is no progress at all', () => {
    const { code, screen } = onTerminal([...SAMPLE, '--json']);
    expect(code).toBe(0);
    expect(screen).not.toContain('\x1b[2K');
    expect(screen).not.toMatch(/\[[#.]{20}\]/);
    const last = screen.trim().split(/\r?\n/).pop()!;
    expect(JSON.parse(last)).toMatchObject({ solver: 'euler-maruyama', steps: 300, n: 20000 });
  }, 60_000);
});

test('off a terminal (a pipe) stderr has no carriage return or escape, stdout only the result', () => {
  const r = runCli(SAMPLE, { cwd: dir });
  expect(r.code).toBe(0);
  expect(r.stderr).not.toMatch(/[\r\x1b]/);
  expect(r.stdout).toMatch(/^20000 samples from oracle mix\.json with euler-maruyama: 300 steps[^\n]*\n$/);
}, 60_000);
