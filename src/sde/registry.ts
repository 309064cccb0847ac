import { UsageError } from '../errors.js';
import { defaultsOf } from '../options/schema.js';
import { SDE_SCHEMA } from './options.js';
import { makeSchedule } from './schedules.js';
import { SubVPSDE } from './subvp.js';
import type { SDE, SDEConfig, SDEName } from './types.js';
import { SDE_NAMES } from './types.js';
import { VESDE } from './ve.js';
import { VPSDE } from './vp.js';

/** Defaults of score_sde (SDE_SCHEMA's): linear VP (0.1, 20), VE (0.01, 50). */
export const DEFAULT_SDE_CONFIG = defaultsOf(SDE_SCHEMA) as SDEConfig;

/** Checks an SDE name from `--sde` or a config file. */
export function parseSdeName(value: string, source = '--sde'): SDEName {
  if ((SDE_NAMES as readonly string[]).includes(value)) return value as SDEName;
  throw new UsageError(`${source}: unknown SDE '${value}', expected one of ${SDE_NAMES.join(', ')}`);
}

/**
 * Builds the SDE a config describes (missing fields take SDE_SCHEMA's defaults); the schedule and
 * the SDE check the values they use (a VE SDE ignores the beta fields), so bad values are
 * UsageErrors naming the flag.
 */
export function makeSDE(partial: Partial<SDEConfig> = {}): SDE {
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const config: SDEConfig = { ...DEFAULT_SDE_CONFIG, ...given };
  switch (parseSdeName(config.sde)) {
    case 'vp':
      return new VPSDE(makeSchedule(config.schedule, config.betaMin, config.betaMax), config);
    case 'subvp':
      return new SubVPSDE(makeSchedule(config.schedule, config.betaMin, config.betaMax), config);
    case 've':
      return new VESDE(config.sigmaMin, config.sigmaMax, config);
  }
}
