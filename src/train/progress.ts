import { CLEAR_LINE, formatBarPercent, formatDuration, type ProgressStream } from '../progress.js';

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


/** One progress line: step/total (then a bar and percent, with `bar`), loss, it/s, learning rate, elapsed and ETA. */
export function formatProgress(p: ProgressInfo, bar = false): string {
  const width = String(p.total).length;
  return (
    `step ${String(p.step).padStart(width)}/${p.total}${bar ? ` ${formatBarPercent(p.total > 0 ? p.step / p.total : 1)}` : ''}  loss ${p.loss.toPrecision(4)}  ` +
    `${p.itPerSec.toFixed(1)} it/s  lr ${p.lr.toExponential(1)}  elapsed ${formatDuration(p.elapsedSec)}  ETA ${formatDuration(p.etaSec)}`
  );
}

/**
 * A progress reporter on `stream` (stderr by default): on a terminal one line redrawn in place,
 * with a bar, ended by finish(); off a terminal one line per update.
 */
export function createProgressReporter(stream: ProgressStream = process.stderr): ProgressReporter {
  const tty = Boolean(stream.isTTY);
  let open = false;
  return {
    update(info) {
      if (tty) {
        stream.write(`${CLEAR_LINE}${formatProgress(info, true)}`);
        open = true;
      } else {
        stream.write(formatProgress(info) + '\n');
      }
    },
    finish(info) {
      if (tty) {
        if (info) stream.write(`${CLEAR_LINE}${formatProgress(info, true)}`);
        if (open || info) stream.write('\n');
      } else if (info) {
        stream.write(formatProgress(info) + '\n');
      }
      open = false;
    },
  };
}

export const silentProgress: ProgressReporter = { update() {}, finish() {} };
