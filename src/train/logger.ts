import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { LogWindow } from '../models/checkpoint.js';
import { outFailure } from './out-failure.js';

/** One line of log.jsonl: means over the steps since the previous line, and the current learning rate. */
export interface LogEntry {
  step: number;
  loss: number;
  gradNorm: number;
  /** The learning rate of the line's last step (warm-up included). */
  lr: number;
  itPerSec: number;
  elapsedSec: number;
}

/**
 * Running sums of the loss and the gradient norm over the steps since the last log line, on the
 * device (no read per step), and the log lines made of them: mean = sum / (step - since), with the
 * learning rate of the last step. Reads happen only when a line is written or a window saved.
 */
export class TrainLogger {
  readonly entries: LogEntry[] = [];
  private readonly lossSum = tf.tidy(() => tf.variable(tf.scalar(0), false));
  private readonly normSum = tf.tidy(() => tf.variable(tf.scalar(0), false));
  private lr = Number.NaN;
  private since: number;
  private lastTime: number;
  private readonly t0 = performance.now();

  /**
   * Starts the window at `startStep`, or continues the `resumed` window saved with a checkpoint at
   * that step (when it is well formed), so the first line after a resume averages the same steps
   * as an uninterrupted run's. `file`: log.jsonl to append to (none: lines are only kept).
   */
  constructor(private readonly startStep: number, private readonly file?: string, resumed?: LogWindow) {
    this.since = startStep;
    this.lastTime = this.t0;
    if (resumed && Number.isInteger(resumed.since) && resumed.since >= 0 && resumed.since <= startStep && [resumed.loss, resumed.gradNorm, resumed.lr].every(Number.isFinite)) {
      tf.tidy(() => {
        this.lossSum.assign(tf.scalar(resumed.loss));
        this.normSum.assign(tf.scalar(resumed.gradNorm));
      });
      this.lr = resumed.lr;
      this.since = resumed.since;
    }
  }

  /** Adds one step's loss and gradient norm (both disposed here) to the window; `lr`: that step's rate. */
  add(loss: tf.Scalar, gradNorm: tf.Scalar, lr: number): void {
    tf.tidy(() => {
      this.lossSum.assign(tf.add(this.lossSum, loss));
      this.normSum.assign(tf.add(this.normSum, gradNorm));
    });
    tf.dispose([loss, gradNorm]);
    this.lr = lr;
  }

  /** Seconds since the logger started. */
  elapsedSec(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** The open window's sums (read from the device), for a checkpoint. */
  async window(): Promise<LogWindow> {
    const [loss, gradNorm] = await Promise.all([this.lossSum.data(), this.normSum.data()]);
    return { since: this.since, loss: loss[0], gradNorm: gradNorm[0], lr: this.lr };
  }

  /**
   * Closes the window at `step`: the means since the last line, it/s over the steps of this run,
   * appended to log.jsonl (`left` says which checkpoint is kept if that fails). None when no step
   * was taken since.
   */
  async line(step: number, left: string): Promise<LogEntry | undefined> {
    const count = step - this.since;
    if (count === 0) return undefined;
    const timed = step - Math.max(this.since, this.startStep);
    const { loss, gradNorm, lr } = await this.window();
    const now = performance.now();
    const entry: LogEntry = { step, loss: loss / count, gradNorm: gradNorm / count, lr, itPerSec: (timed * 1000) / (now - this.lastTime), elapsedSec: (now - this.t0) / 1000 };
    tf.tidy(() => {
      this.lossSum.assign(tf.zerosLike(this.lossSum));
      this.normSum.assign(tf.zerosLike(this.normSum));
    });
    this.since = step;
    this.lastTime = now;
    this.entries.push(entry);
    if (this.file) {
      try {
        fs.appendFileSync(this.file, JSON.stringify(entry) + '\n');
      } catch (e) {
        throw outFailure(this.file, e, left);
      }
    }
    return entry;
  }

  dispose(): void {
    tf.dispose([this.lossSum, this.normSum]);
  }
}

/**
 * Starts dir/log.jsonl for a run at `step`: empty for a fresh run; on resume the lines up to the
 * checkpoint's step (later ones are redone). Written to a temporary name and renamed.
 */
export function startLogFile(dir: string, step: number, resumed: boolean): string {
  const file = path.join(dir, 'log.jsonl');
  let kept = '';
  if (resumed && fs.existsSync(file)) {
    kept = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => {
        try {
          return line.trim() !== '' && (JSON.parse(line) as LogEntry).step <= step;
        } catch {
          return false;
        }
      })
      .map((line) => line + '\n')
      .join('');
  }
  try {
    writeFileAtomic(file, kept);
  } catch (e) {
    throw outFailure(file, e);
  }
  return file;
}
