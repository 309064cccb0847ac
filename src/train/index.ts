export * from './losses.js';
export * from './adam.js';
export * from './ema.js';
export * from './progress.js';
export * from './loop.js';
export * from './benchmark.js';
export * from './options.js';
