import { choice, type Schema } from '../options/schema.js';
import { SDE_NAMES } from './types.js';

/**
 * The SDE's options, declared once: makeSDE checks a config against them (errors name the
 * field's flag), the CLI makes its SDE flags and their help from them, and resume compares them
 * field by field. Defaults are score_sde's: linear VP beta in [0.1, 20], VE sigma in [0.01, 50].
 * Ranges (positive, beta-max above beta-min) are checked by the schedule and the SDE that use
 * them: a VE SDE ignores the beta fields, VP and sub-VP the sigma fields.
 */
export const SDE_SCHEMA = {
  sde: choice(SDE_NAMES, { default: 'vp', doc: 'the forward SDE: variance preserving, sub-VP or variance exploding' }),
  schedule: { type: 'text', accepts: 'linear | cosine | an expression in t, e.g. "0.1 + 19.9*t"', default: 'linear', doc: 'VP/sub-VP noise schedule beta(t)' },
  betaMin: { type: 'number', default: 0.1, doc: 'linear schedule beta(0)' },
  betaMax: { type: 'number', default: 20, doc: 'linear schedule beta(1), above --beta-min' },
  sigmaMin: { type: 'number', default: 0.01, doc: 'VE sigma(0)' },
  sigmaMax: { type: 'number', default: 50, doc: 'VE sigma(1), above --sigma-min' },
} as const satisfies Schema;
