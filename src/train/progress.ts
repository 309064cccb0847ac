/**
 * Progress on stderr: step, loss, iterations/s and ETA. On a TTY one line is rewritten in place;
 * otherwise (a pipe, a log file) each update is a plain line. Injectable for tests.
 */
export interface ProgressInfo {
  step: number;
  total: number;
  loss: number;
  lr: number;
  itPerSec: number;
  elapsedSec: number;
  etaSec: number;
}

export interface ProgressReporter {
  update(info: ProgressInfo): void;
  /** The run ended (finished, stopped or failed): end the line. */
  finish(info?: ProgressInfo): void;
}

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** A duration in seconds as people read it: 42s, 3m05s, 1h02m ('?' when not finite). */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.max(0, Math.round(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** One progress line: step/total, loss, it/s, learning rate, elapsed and ETA. */
export function formatProgress(p: ProgressInfo): string {
  const width = String(p.total).length;
  return (
    `step ${String(p.step).padStart(width)}/${p.total}  loss ${p.loss.toPrecision(4)}  ` +
    `${p.itPerSec.toFixed(1)} it/s  lr ${p.lr.toExponential(1)}  elapsed ${formatDuration(p.elapsedSec)}  ETA ${formatDuration(p.etaSec)}`
  );
}

/**
 * A progress reporter on `stream` (stderr by default): on a terminal one line redrawn in place,
 * ended by finish(); off a terminal one line per update.
 */
export function createProgressReporter(stream: ProgressStream = process.stderr): ProgressReporter {
  const tty = Boolean(stream.isTTY);
  let open = false;
  return {
    update(info) {
      if (tty) {
        stream.write(`\r\x1b[2K${formatProgress(info)}`);
        open = true;
      } else {
        stream.write(formatProgress(info) + '\n');
      }
    },
    finish(info) {
      if (tty) {
        if (info) stream.write(`\r\x1b[2K${formatProgress(info)}`);
        if (open || info) stream.write('\n');
      } else if (info) {
        stream.write(formatProgress(info) + '\n');
      }
      open = false;
    },
  };
}

export const silentProgress: ProgressReporter = { update() {}, finish() {} };
