import { describe } from 'vitest';
import { defaultStepTests } from './mixture-cases.js';

// Deterministic samplers on a 2-D mixture of three well separated components (VP-SDE, n = 20,000).
describe('probability-flow samplers on the oracle mixture', () => {
  defaultStepTests(['ode-euler', 'ode-heun', 'ode-rk45', 'ddim', 'dpm-solver', 'dpm-solver++']);
});
