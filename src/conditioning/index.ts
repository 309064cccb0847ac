export * from './guidance.js';
export * from './condition-source.js';
export * from './known-values.js';
export type * from './score-source.js';
