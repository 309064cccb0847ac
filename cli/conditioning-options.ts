import type { Argv } from 'yargs';
import type { Conditioning } from '../src/conditioning/condition-source.js';
import { CONDITIONING_SCHEMA, conditioningFromOptions } from '../src/conditioning/options.js';
import { csvOptionsFromFlags } from './csv-options.js';
import { schemaArgs, withSchemaFlags } from './schema-flags.js';

// The set-up itself lives in src/conditioning (a library user calls it with plain options); the commands take it from here with the flags' parser.
export { checkConditioning, conditionSource, type Conditioning } from '../src/conditioning/condition-source.js';
export type { ConditionedSource } from '../src/conditioning/score-source.js';

/** Flags of conditional generation, from CONDITIONING_SCHEMA: --class with --guidance, and inpainting (--known-dims, or --known with --mask). */
export function withConditioningOptions<T>(y: Argv<T>): Argv<T> {
  return withSchemaFlags(y, CONDITIONING_SCHEMA);
}

/** The conditioning the flags ask for, checked by conditioningFromOptions (one-line errors naming the flag); known/mask files read with --header/--delimiter. */
export function conditioningFromArgs(argv: Record<string, unknown>): Conditioning {
  return conditioningFromOptions(schemaArgs(argv, CONDITIONING_SCHEMA), csvOptionsFromFlags(argv));
}

/** The fields a command's JSON result adds for the conditioning flags given (none without them). */
export function conditioningSummary(c: Conditioning): Record<string, unknown> {
  return {
    ...(c.label !== undefined ? { class: c.labels && c.labels.length > 1 ? c.labels : c.label, guidance: c.guidance } : {}),
    ...(c.knownDims ? { knownDims: c.knownDims.map(([j]) => j) } : {}),
    ...(c.knownFiles ? { known: c.knownFiles.knownFile, mask: c.knownFiles.maskFile } : {}),
  };
}
