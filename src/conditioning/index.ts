export * from './guidance.js';
export * from './condition-source.js';
export * from './known-values.js';
export * from './options.js';
export type * from './score-source.js';
