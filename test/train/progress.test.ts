import { describe, expect, it } from 'vitest';
import { createTaskProgress, formatBar, formatTaskLine, LOG_LINE_MS, PROGRESS_DELAY_MS, TTY_REDRAW_MS, type TaskProgressOptions } from '../../src/progress.js';
import { createProgressReporter } from '../../src/train/progress.js';

/** A task progress on a fake stream with a fake clock (ms) that the test moves. */
function fake(isTTY: boolean, options: Partial<TaskProgressOptions> = {}) {
  const chunks: string[] = [];
  const clock = { t: 0 };
  const p = createTaskProgress({ label: 'sample', total: 1000, unit: 'steps', stream: { write: (c: string) => chunks.push(c) }, isTTY, now: () => clock.t, ...options });
  return { p, chunks, clock };
}

describe('formatTaskLine', () => {
  it('shows the bar, percent, count, rate, elapsed and ETA', () => {
    expect(formatTaskLine({ label: 'sample', done: 420, total: 1000, unit: 'steps', elapsedSec: 12 })).toBe(
      'sample [########............]  42%   420/1000 steps  35.0 it/s  elapsed 12s  ETA 17s',
    );
  });
  it('shows s/it below one per second, a fractional count with two decimals and ? with no rate', () => {
    expect(formatTaskLine({ label: 'compare', done: 1.5, total: 6, unit: 'cells', elapsedSec: 6 })).toBe(
      'compare [#####...............]  25%  1.50/6 cells  4.0 s/it  elapsed 6s  ETA 18s',
    );
    expect(formatTaskLine({ label: 'nll', done: 0, total: 10, unit: 'points', elapsedSec: 2 })).toMatch(/0\/10 points {2}0\.0 it\/s {2}elapsed 2s {2}ETA \?$/);
  });
  it('clamps the bar', () => {
    expect(formatBar(1.5, 4)).toBe('[####]');
    expect(formatBar(-1, 4)).toBe('[....]');
  });
});

describe('createTaskProgress on a terminal', () => {
  it('draws nothing in the first second, then redraws one line at most every 100 ms', () => {
    const { p, chunks, clock } = fake(true);
    for (clock.t = 0; clock.t < PROGRESS_DELAY_MS; clock.t += 10) p.tick(clock.t / 10);
    expect(chunks).toEqual([]);
    for (; clock.t <= 2000; clock.t += 10) p.tick(clock.t / 10);
    // 1000 ms .. 2000 ms, every 10 ms: one redraw per 100 ms.
    expect(chunks).toHaveLength(Math.floor((2000 - PROGRESS_DELAY_MS) / TTY_REDRAW_MS) + 1);
    for (const c of chunks) {
      expect(c.startsWith('\r\x1b[2Ksample [')).toBe(true);
      expect(c).not.toContain('\n');
    }
    expect(chunks[0]).toMatch(/ 100\/1000 steps {2}100\.0 it\/s {2}elapsed 1s {2}ETA 9s$/);
  });
  it('finish draws the final state and exactly one newline', () => {
    const { p, chunks, clock } = fake(true);
    clock.t = 1500;
    p.tick(500);
    clock.t = 1520;
    p.tick(1000); // within 100 ms of the last redraw: not drawn
    expect(chunks).toHaveLength(1);
    p.finish();
    p.finish();
    expect(chunks).toHaveLength(3);
    expect(chunks[1]).toMatch(/^\r\x1b\[2Ksample \[#{20}\] 100% {2}1000\/1000 steps/);
    expect(chunks[2]).toBe('\n');
    expect(chunks.join('').match(/\n/g)).toHaveLength(1);
  });
  it('log writes its line above the bar and redraws the bar', () => {
    const { p, chunks, clock } = fake(true);
    clock.t = 1200;
    p.tick(10);
    p.log('ddpm 10 steps: done');
    expect(chunks.slice(1)).toEqual(['\r\x1b[2Kddpm 10 steps: done\n', expect.stringMatching(/^\r\x1b\[2Ksample \[/)]);
  });
  it('writes nothing when the work ends within a second, or when disabled', () => {
    const quick = fake(true);
    quick.clock.t = 999;
    quick.p.tick(1000);
    quick.p.finish();
    expect(quick.chunks).toEqual([]);
    const off = fake(true, { enabled: false });
    off.clock.t = 5000;
    off.p.tick(500);
    off.p.finish();
    off.p.log('a result');
    expect(off.chunks).toEqual(['a result\n']);
  });
});

describe('createTaskProgress off a terminal', () => {
  it('prints a full line at most every 5 s, and the final one; never a carriage return', () => {
    const { p, chunks, clock } = fake(false);
    for (clock.t = 0; clock.t <= 12_000; clock.t += 50) p.tick(clock.t / 12);
    expect(chunks).toHaveLength(Math.floor(12_000 / LOG_LINE_MS));
    p.finish();
    expect(chunks).toHaveLength(3);
    for (const c of chunks) {
      expect(c).toMatch(/^sample \[[#.]{20}\] +\d+% .*ETA \S+\n$/);
      expect(c).not.toContain('\r');
    }
    expect(chunks[2]).toMatch(/1000\/1000 steps/);
  });
  it('a run of 1 to 5 s prints nothing', () => {
    const { p, chunks, clock } = fake(false);
    clock.t = 3000;
    p.tick(1000);
    p.finish();
    expect(chunks).toEqual([]);
  });
});

describe('training progress reporter', () => {
  const info = { step: 50, total: 200, loss: 0.123456, lr: 1e-3, itPerSec: 40, elapsedSec: 1.25, etaSec: 3.75 };
  it('draws the bar on a terminal, keeping loss and lr', () => {
    const chunks: string[] = [];
    const r = createProgressReporter({ write: (c: string) => chunks.push(c), isTTY: true });
    r.update(info);
    r.finish();
    expect(chunks).toEqual(['\r\x1b[2Kstep  50/200 [#####...............]  25%  loss 0.1235  40.0 it/s  lr 1.0e-3  elapsed 1s  ETA 4s', '\n']);
  });
});
