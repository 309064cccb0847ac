// Moved to src/random.ts; this re-export goes when src/train and src/eval/classifier.ts import from there.
export { Rng, mixSeed } from '../random.js';
