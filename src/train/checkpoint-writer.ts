import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { saveCheckpoint, type CheckpointConfig, type LogWindow } from '../models/checkpoint.js';
import { outError } from './out-failure.js';
import type { TrainState } from './state.js';

/**
 * Writes a run's checkpoints to its directory (none: writes nothing) and remembers the step of
 * the last one, so errors can say which checkpoint is left. Only finite weights and sums are
 * saved: a run that diverges keeps its last good checkpoint.
 */
export class CheckpointWriter {
  /** Step of the checkpoint in the directory (none yet: -1). */
  savedStep: number;

  constructor(private readonly dir: string | undefined, private readonly state: TrainState, savedStep: number) {
    this.savedStep = savedStep;
  }

  /** What is left in the directory, for an error message. */
  left(): string {
    return this.savedStep >= 0 ? `the checkpoint of step ${this.savedStep} is kept` : 'no checkpoint was written';
  }

  /** The error of a run that diverged at `step` (`what` went non-finite), naming the checkpoint kept. */
  diverged(what: string, step: number): UsageError {
    const kept = this.savedStep >= 0 ? `the last good checkpoint (step ${this.savedStep}) is kept in ${this.dir}; ` : this.dir ? 'no checkpoint was written; ' : '';
    return new UsageError(`training diverged: ${what} at step ${step}; ${kept}try a smaller --lr or --grad-clip`);
  }

  /**
   * Saves the state at `step` with its config and the open log window (nothing when that step is
   * saved already); refuses non-finite sums or weights as a divergence.
   */
  async save(step: number, config: CheckpointConfig, window: LogWindow): Promise<void> {
    if (!this.dir || this.savedStep === step) return;
    if (!Number.isFinite(window.loss) || !Number.isFinite(window.gradNorm)) throw this.diverged(nonFiniteMeasure(window.loss, window.gradNorm), step);
    const total = tf.tidy(() => tf.addN(Object.values(this.state.vars).map((v) => tf.sum(v))));
    const sum = (await total.data())[0];
    total.dispose();
    if (!Number.isFinite(sum)) throw this.diverged('the weights are not finite', step);
    const { vars, emaParams, adam } = this.state;
    try {
      saveCheckpoint(this.dir, { config: { ...config, log: window }, params: vars, ema: emaParams, optimizer: adam.state() });
    } catch (e) {
      throw outError(e, this.left());
    }
    this.savedStep = step;
  }
}

/** Which of a loss and a gradient norm is not finite, in words. */
export function nonFiniteMeasure(loss: number, gradNorm: number): string {
  return Number.isFinite(loss) ? `the gradient norm is ${gradNorm}` : `the loss is ${loss}`;
}
