import { choice, type OptionsOf, type Schema } from '../options/schema.js';
import { PARAMETERIZATIONS } from './score-model.js';

/**
 * The network options of a fresh training run, declared once: what the network outputs, and
 * for image data the U-Net's width and patch size (the default network otherwise). The CLI makes
 * --param, --channels and --patch from them.
 */
export const MODEL_SCHEMA = {
  param: choice(PARAMETERIZATIONS, { doc: 'network output: eps (score = -eps/std) | score (default: eps)' }),
  channels: { type: 'number', integer: true, min: 4, max: 512, doc: 'image data: U-Net channels at the first resolution (default 16)' },
  patch: { type: 'number', integer: true, min: 1, max: 8, doc: 'image data: fold p x p pixel patches into channels before the U-Net (default 1)' },
} as const satisfies Schema;

export type ModelOptions = OptionsOf<typeof MODEL_SCHEMA>;
