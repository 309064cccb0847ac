import * as tf from '@tensorflow/tfjs';

/**
 * The times the state is saved at and the path saved so far, for the adaptive solvers. In direction
 * `dir` (+1: forward in time, -1: reverse time, from T down), the targets are sorted along the
 * integration; 'all' saves every state offered.
 */
export class SavedPath {
  readonly path: tf.Tensor[] = [];
  readonly times: number[] = [];
  private readonly targets: number[];
  private next = 0;

  constructor(
    private readonly saveTimes: readonly number[] | 'all',
    private readonly dir: number,
  ) {
    this.targets = saveTimes === 'all' ? [] : [...saveTimes].sort((a, b) => dir * (a - b));
  }

  /** The next time the integrator must land on before t1: the first unsaved target ahead of t, or t1. */
  stopBefore(t1: number): number {
    return this.next < this.targets.length && this.dir * (t1 - this.targets[this.next]) > 0 ? this.targets[this.next] : t1;
  }

  /** Saves a copy of x at t for every target reached by t ('all': once). */
  saveIfDue(x: tf.Tensor, t: number): void {
    if (this.saveTimes === 'all') {
      this.path.push(tf.clone(x));
      this.times.push(t);
      return;
    }
    while (this.next < this.targets.length && this.dir * (this.targets[this.next] - t) <= 0) {
      this.path.push(tf.clone(x));
      this.times.push(t);
      this.next++;
    }
  }
}
