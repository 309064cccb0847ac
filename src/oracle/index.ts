export * from './mixture.js';
export * from './score.js';
export * from './sample.js';
export * from './conditional.js';
