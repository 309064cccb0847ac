import { PROBABILITY_FLOW } from '../sde/reverse.js';
import { eulerStep, heunStep } from './common.js';
import { defineSolver } from './types.js';

/**
 * Euler on the probability-flow ODE dx/dt = F(x, t) = a(t) x - 1/2 g(t)^2 s(x, t), from t to
 * t' = t - h: x' = x - h F(x, t). One NFE per step, order 1.
 */
export const odeEuler = defineSolver({
  info: { name: 'ode-euler', kind: 'ode', order: 1, adaptive: false, defaultSteps: 250, defaultGrid: 'uniform', description: 'Euler on the probability-flow ODE' },
  options: {},
  create: (ctx, { grid }) => {
    const times = grid!;
    return { times, step: (x, i) => eulerStep(ctx.sde, ctx.score, x, times[i], times[i] - times[i + 1], PROBABILITY_FLOW) };
  },
});

/**
 * Heun (explicit trapezoid) on the probability-flow ODE: k1 = F(x, t), x~ = x - h k1,
 * k2 = F(x~, t'), x' = x - h/2 (k1 + k2). Two NFE per step, order 2.
 */
export const odeHeun = defineSolver({
  info: { name: 'ode-heun', kind: 'ode', order: 2, adaptive: false, defaultSteps: 100, defaultGrid: 'uniform', description: 'Heun (trapezoid) on the probability-flow ODE' },
  options: {},
  nfe: ({ steps }) => 2 * steps,
  create: (ctx, { grid }) => ({ times: grid!, step: (x, i) => heunStep(ctx.sde, ctx.score, x, grid![i], grid![i + 1], PROBABILITY_FLOW) }),
});
