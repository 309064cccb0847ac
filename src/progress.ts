/**
 * Progress of a long task on stderr, like tqdm: on a terminal one line redrawn in place (a bar,
 * percent, count done of total, rate, elapsed and ETA), at most every 100 ms, from 1 s on; off a
 * terminal (a pipe, a log) a full line every 5 s and the final one (so nothing for work under 5 s).
 * Nothing at all is written for work that ends within 1 s.
 *
 * Written here rather than taken from a library (cli-progress and the like): this is some eighty
 * lines, has no dependency, and does what the commands need, a time-throttled single bar that
 * works off a terminal too, with an injectable clock and stream for tests.
 */

/** Where progress goes: stderr, or a fake in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** Nothing is drawn before the task has run this long (ms). */
export const PROGRESS_DELAY_MS = 1000;
/** Least time between two redraws on a terminal (ms). */
export const TTY_REDRAW_MS = 100;
/** Least time between two lines off a terminal (ms). */
export const LOG_LINE_MS = 5000;
/** Characters between the bar's brackets. */
export const BAR_WIDTH = 20;

/** Moves to the start of the line and clears it. */
export const CLEAR_LINE = '\r\x1b[2K';

/** A duration in seconds as people read it: 42s, 3m05s, 1h02m ('?' when not finite). */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** A bar of `width` characters, '#' for the part of `fraction` (clamped to [0, 1]) done: [#####.....]. */
export function formatBar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** The bar and the percent done, as both progress lines show them: `[########............]  42%`. */
export function formatBarPercent(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  return `${formatBar(f)} ${`${Math.floor(f * 100)}%`.padStart(4)}`;
}

/** How far a run from time T down to eps has come at time t, in [0, 1] (progress of an adaptive solver). */
export function reverseTimeFraction(t: number, T: number, eps: number): number {
  return T > eps ? Math.min(1, Math.max(0, (T - t) / (T - eps))) : 1;
}

/** The state of a task at one moment. */
export interface TaskState {
  label: string;
  /** Work done, in `unit`s (may be fractional, e.g. part of a run reached by time). */
  done: number;
  total: number;
  unit: string;
  elapsedSec: number;
}

/** One progress line: `label [#####.....]  42%  420/1000 steps  35.1 it/s  elapsed 12s  ETA 16s` (s/it below 1 it/s). */
export function formatTaskLine(s: TaskState): string {
  const fraction = s.total > 0 ? Math.min(1, s.done / s.total) : 1;
  const rate = s.elapsedSec > 0 ? s.done / s.elapsedSec : 0;
  const speed = rate >= 1 || rate === 0 ? `${rate.toFixed(1)} it/s` : `${(1 / rate).toFixed(1)} s/it`;
  const eta = rate > 0 ? (s.total - s.done) / rate : Infinity;
  const done = Number.isInteger(s.done) ? String(s.done) : s.done.toFixed(2);
  return (
    `${s.label} ${formatBarPercent(fraction)}  ${done.padStart(String(s.total).length)}/${s.total} ${s.unit}  ` +
    `${speed}  elapsed ${formatDuration(s.elapsedSec)}  ETA ${formatDuration(eta)}`
  );
}

/** What createTaskProgress takes. */
export interface TaskProgressOptions {
  label: string;
  total: number;
  /** What is counted: 'steps', 'cells', 'points'. */
  unit: string;
  /** Default: process.stderr. */
  stream?: ProgressStream;
  /** Default: the stream's isTTY. */
  isTTY?: boolean;
  /** Clock in milliseconds (default: performance.now). */
  now?: () => number;
  /** false (e.g. under --json): no bar at all; log lines are still written. */
  enabled?: boolean;
}

/** A task's progress: tick as work is done, log lines above the bar, finish once at the end. */
export interface TaskProgress {
  /** `done` units are done (redrawn when the throttle allows). */
  tick(done: number): void;
  /** Writes `line` (and a newline) without breaking the bar: cleared first, redrawn after. */
  log(line: string): void;
  /** The work ended: the final state once more (and on a terminal a newline), if a line was drawn before or (terminal) the task took over 1 s. */
  finish(): void;
}

/** A task progress on stderr (see the module comment for when it draws). */
export function createTaskProgress(options: TaskProgressOptions): TaskProgress {
  const stream = options.stream ?? process.stderr;
  const tty = options.isTTY ?? Boolean(stream.isTTY);
  const now = options.now ?? (() => performance.now());
  const enabled = options.enabled ?? true;
  const started = now();
  let done = 0;
  let lastDraw = -Infinity;
  let drawn = false;
  let finished = false;
  const line = (t: number) => formatTaskLine({ label: options.label, done, total: options.total, unit: options.unit, elapsedSec: (t - started) / 1000 });
  const draw = (t: number) => {
    stream.write(tty ? `${CLEAR_LINE}${line(t)}` : `${line(t)}\n`);
    drawn = true;
    lastDraw = t;
  };
  return {
    tick(value) {
      done = Math.min(options.total, Math.max(0, value));
      if (!enabled || finished) return;
      const t = now();
      if (t - started < PROGRESS_DELAY_MS) return;
      if (t - (tty ? lastDraw : Math.max(lastDraw, started)) >= (tty ? TTY_REDRAW_MS : LOG_LINE_MS)) draw(t);
    },
    log(text) {
      if (enabled && tty && drawn && !finished) {
        stream.write(`${CLEAR_LINE}${text}\n`);
        draw(now());
      } else {
        stream.write(`${text}\n`);
      }
    },
    finish() {
      if (!enabled || finished) return;
      finished = true;
      const t = now();
      if (!drawn && (!tty || t - started < PROGRESS_DELAY_MS)) return;
      draw(t);
      if (tty) stream.write('\n');
    },
  };
}
