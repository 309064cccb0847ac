export * from './guidance.js';
