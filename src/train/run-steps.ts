/** A training loop's schedule and its parts: what one step does, what a log line and a checkpoint do. */
export interface StepLoop {
  /** Steps done before (a resumed run's step). */
  from: number;
  /** Steps in total. */
  iters: number;
  /** Steps between log lines (and at the last step). */
  logEvery: number;
  /** Steps between checkpoints (none: only the final `checkpoint`). */
  checkpointEvery?: number;
  /** Stop after the current step when aborted. */
  signal?: AbortSignal;
  /** Takes step n (the step count goes n -> n + 1). */
  step(n: number): void;
  /** Writes a log line after `done` steps. */
  log(done: number): Promise<void>;
  /** Writes a checkpoint after `done` steps. */
  checkpoint?(done: number): Promise<void>;
}

/**
 * Runs steps from..iters-1: a log line every logEvery steps and at the end, a checkpoint every
 * checkpointEvery steps and at the end (also when stopped by the signal). Turns the event loop
 * after every step, so signal handlers (Ctrl-C -> abort) run promptly and a GPU backend's
 * queue drains. Returns the steps done and whether the signal stopped it before iters.
 */
export async function runSteps(loop: StepLoop): Promise<{ step: number; stopped: boolean }> {
  let step = loop.from;
  let stopped = false;
  while (step < loop.iters) {
    loop.step(step);
    step++;
    if (step % loop.logEvery === 0 || step === loop.iters) await loop.log(step);
    if (loop.checkpointEvery !== undefined && step % loop.checkpointEvery === 0 && step < loop.iters) await loop.checkpoint?.(step);
    await new Promise<void>((r) => setImmediate(r));
    if (loop.signal?.aborted) {
      stopped = step < loop.iters;
      break;
    }
  }
  await loop.log(step);
  await loop.checkpoint?.(step);
  return { step, stopped };
}
