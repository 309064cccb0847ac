/**
 * `npm run soak`: do long runs leak? Trains the default MLP on moons for --train-steps (20,000)
 * steps, saving a checkpoint every --checkpoint-every steps into a temporary directory, then
 * samples the trained model with --solver for --solver-steps (10,000) steps. Every --interval
 * steps it records tf.memory().numTensors and the process RSS (the first record after one
 * interval of warm-up). Prints one JSON object and exits with 1 when, within a phase,
 * numTensors differs between any two records, or the RSS ceiling rises by more than
 * --rss-tolerance MiB: the largest RSS of the second half of the records minus the largest of
 * the first half. (RSS moves up and down by tens of MiB as the allocator and the kernel return
 * pages; a leak raises the ceiling steadily, by about half the run's total leak.)
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { parseBackendName } from '../src/backend.js';
import { configureRuntime, runtimeOptionsFromEnv } from '../src/runtime.js';
import { toyDataset } from '../src/data/toy.js';
import { defaultModelConfig } from '../src/models/factory.js';
import type { ModelConfig } from '../src/models/score-model.js';
import { integrate } from '../src/solvers/integrate.js';
import type { SolverName } from '../src/solvers/types.js';
import type { ScoreFn } from '../src/sde/types.js';
import { train } from '../src/train/loop.js';

/** One reading: live tensors and resident memory after `step` steps. */
export interface MemoryRecord {
  step: number;
  numTensors: number;
  rssMiB: number;
  /** JS heap in use and ArrayBuffer memory (including the wasm backend's), for diagnosis. */
  heapMiB: number;
  arrayBuffersMiB: number;
}

/** A phase's readings and whether they stayed flat. */
export interface PhaseReport {
  records: MemoryRecord[];
  /** Largest minus smallest numTensors over the records (must be 0). */
  tensorDrift: number;
  /** Largest RSS of the second half of the records minus the largest of the first half, MiB. */
  rssGrowthMiB: number;
  ok: boolean;
}

export interface SoakReport {
  training: PhaseReport;
  sampling: PhaseReport;
  /** tf.memory().numTensors just before and after the solver run (must be equal). */
  numTensorsBeforeAfterSampling: [number, number];
  trainSeconds: number;
  sampleSeconds: number;
}

export interface SoakOptions {
  trainSteps: number;
  solverSteps: number;
  interval: number;
  checkpointEvery: number;
  batch: number;
  n: number;
  solver: SolverName;
  rssToleranceMiB: number;
  /** Network (default: the default MLP for 2-D data). */
  model?: ModelConfig;
}

function record(step: number): MemoryRecord {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  return { step, numTensors: tf.memory().numTensors, rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed), arrayBuffersMiB: mib(m.arrayBuffers) };
}

/** Judges a phase's records: at least four, numTensors exactly constant, RSS ceiling growth within the tolerance. */
export function judge(records: MemoryRecord[], rssToleranceMiB: number): PhaseReport {
  if (records.length < 4) return { records, tensorDrift: 0, rssGrowthMiB: 0, ok: false };
  const counts = records.map((r) => r.numTensors);
  const tensorDrift = Math.max(...counts) - Math.min(...counts);
  const half = Math.floor(records.length / 2);
  const ceiling = (rs: MemoryRecord[]) => Math.max(...rs.map((r) => r.rssMiB));
  const rssGrowthMiB = Math.round((ceiling(records.slice(half)) - ceiling(records.slice(0, half))) * 10) / 10;
  return { records, tensorDrift, rssGrowthMiB, ok: tensorDrift === 0 && rssGrowthMiB <= rssToleranceMiB };
}

/**
 * Trains for trainSteps steps (checkpoints into a temporary directory), then runs the solver for
 * solverSteps steps on the trained model's score, recording memory every `interval` steps of each.
 */
export async function soak(o: SoakOptions): Promise<SoakReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-soak-'));
  try {
    const trainRecords: MemoryRecord[] = [];
    const t0 = performance.now();
    const trained = await train({
      data: toyDataset('moons', 10_000, 0),
      model: o.model ?? defaultModelConfig([2]),
      iters: o.trainSteps,
      batch: o.batch,
      outDir: path.join(dir, 'run'),
      checkpointEvery: o.checkpointEvery,
      logEvery: o.interval,
      progress: null,
      // The first interval is warm-up (kernels compiled, buffers allocated); records start after it.
      onLog: (e) => void (e.step > o.interval && trainRecords.push(record(e.step))),
    });
    const trainSeconds = (performance.now() - t0) / 1000;

    const sampleRecords: MemoryRecord[] = [];
    let nfe = 0;
    const score: ScoreFn = (x, t) => {
      nfe++;
      if (nfe % o.interval === 0 && nfe > o.interval) sampleRecords.push(record(nfe));
      return trained.model.score(x, t);
    };
    const t1 = performance.now();
    const before = tf.memory().numTensors;
    const result = integrate(trained.model.sde, score, o.solver, { steps: o.solverSteps, shape: [o.n, 2], seed: 1 });
    result.x.dispose();
    const after = tf.memory().numTensors;
    const sampleSeconds = (performance.now() - t1) / 1000;
    trained.dispose();
    const sampling = judge(sampleRecords, o.rssToleranceMiB);
    // Within the run every record sits at the same point of a step; after it, nothing is left behind.
    return { training: judge(trainRecords, o.rssToleranceMiB), sampling: { ...sampling, ok: sampling.ok && after === before }, numTensorsBeforeAfterSampling: [before, after], trainSeconds, sampleSeconds };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      backend: { type: 'string', default: process.env.SDE_BACKEND ?? 'auto' },
      'train-steps': { type: 'string', default: '20000' },
      'solver-steps': { type: 'string', default: '10000' },
      interval: { type: 'string', default: '1000' },
      'checkpoint-every': { type: 'string', default: '1000' },
      batch: { type: 'string', default: '128' },
      n: { type: 'string', default: '1000' },
      solver: { type: 'string', default: 'euler-maruyama' },
      'rss-tolerance': { type: 'string', default: '16' },
    },
  });
  const int = (k: keyof typeof a) => {
    const v = Number(a[k]);
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`--${k}: expected a positive integer, got ${a[k]}`);
    return v;
  };
  const backend = await configureRuntime({ ...runtimeOptionsFromEnv(), backend: parseBackendName(a.backend!, '--backend'), log: (line) => process.stderr.write(line + '\n') });
  const options: SoakOptions = {
    trainSteps: int('train-steps'),
    solverSteps: int('solver-steps'),
    interval: int('interval'),
    checkpointEvery: int('checkpoint-every'),
    batch: int('batch'),
    n: int('n'),
    solver: a.solver as SolverName,
    rssToleranceMiB: Number(a['rss-tolerance']),
  };
  const report = await soak(options);
  const ok = report.training.ok && report.sampling.ok;
  process.stdout.write(JSON.stringify({ backend: backend.backend, gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function', options, ok, ...report }, null, 1) + '\n');
  process.exit(ok ? 0 : 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    process.stderr.write(`soak: ${(e as Error).message}\n`);
    process.exit(2);
  });
}
