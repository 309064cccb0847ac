import v8 from 'node:v8';
import vm from 'node:vm';
import { expect, test } from 'vitest';
import { judge, soak } from '../../bench/soak.js';
import { defaultMLPConfig } from '../../src/models/mlp.js';

/*
 * A short `npm run soak`: 1,500 training steps (checkpoints every 250) and 1,500 solver steps of
 * a small MLP, with live tensors and RSS recorded every 250 steps after a warm-up interval.
 * numTensors must not move at all, so a leaked tensor of any size fails; the RSS ceiling (largest
 * RSS of the second half of the records against the first half) may rise by at most 16 MiB per
 * phase, which catches leaks outside tfjs (host arrays, closures) above about 25 KB a step. The
 * full soak (20,000 and 10,000 steps, same tolerance) catches leaks above about 1.7 KB a step.
 */
test('a short soak: numTensors flat and RSS within 16 MiB over 1,500 training and 1,500 solver steps', async () => {
  // Expose gc so that RSS readings are not dominated by garbage awaiting collection.
  v8.setFlagsFromString('--expose-gc');
  (globalThis as { gc?: () => void }).gc = vm.runInNewContext('gc') as () => void;
  const report = await soak({
    trainSteps: 1500,
    solverSteps: 1500,
    interval: 250,
    checkpointEvery: 250,
    batch: 32,
    n: 100,
    solver: 'euler-maruyama',
    rssToleranceMiB: 16,
    model: { network: defaultMLPConfig(2, { hidden: [32, 32] }), parameterization: 'eps', inputScaling: 'marginal' },
  });
  for (const phase of [report.training, report.sampling]) {
    expect(phase.records.length).toBeGreaterThanOrEqual(5);
    expect(phase.tensorDrift).toBe(0);
    expect(phase.rssGrowthMiB).toBeLessThanOrEqual(16);
  }
  expect(report.numTensorsBeforeAfterSampling[1]).toBe(report.numTensorsBeforeAfterSampling[0]);
  expect(report.training.ok && report.sampling.ok).toBe(true);
});

test('the soak verdict fails a leak of tensors or a rising RSS ceiling, and passes RSS that only oscillates', () => {
  const records = (tensors: (i: number) => number, rss: (i: number) => number) =>
    Array.from({ length: 20 }, (_, i) => ({ step: 1000 * (i + 1), numTensors: tensors(i), rssMiB: rss(i), heapMiB: 20, arrayBuffersMiB: 0 }));
  expect(judge(records(() => 41, (i) => (i % 5 < 2 ? 104 : 122)), 16)).toMatchObject({ tensorDrift: 0, rssGrowthMiB: 0, ok: true });
  expect(judge(records((i) => 41 + Number(i === 13), () => 100), 16)).toMatchObject({ tensorDrift: 1, ok: false });
  expect(judge(records(() => 41, (i) => 100 + 2 * i), 16)).toMatchObject({ rssGrowthMiB: 20, ok: false });
  expect(judge(records(() => 41, () => 100).slice(0, 3), 16).ok).toBe(false);
});
