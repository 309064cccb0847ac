import type { Argv } from 'yargs';
import { flagName, helpText, parseOptions, type OptionsOf, type Schema } from '../src/options/schema.js';

/*
 * CLI flags made from an option schema (src/options/schema.ts): one flag per field, named by
 * flagName (correctorSteps -> --corrector-steps), its help the spec's doc with what it accepts
 * and its default ("[a positive number, default 0.001]", "[one of uniform | quadratic | logsnr]").
 * Values are taken as the user typed them (no yargs type or default: the parser keeps strings,
 * see parse-numbers in cli/main.ts) and checked by the schema in src, so a flag's rule and its
 * help are one entry.
 */

/** Adds a flag for every field of `schema` except `skip` (fields a command declares its own way). */
export function withSchemaFlags<T>(y: Argv<T>, schema: Schema, skip: readonly string[] = []): Argv<T> {
  let out = y;
  for (const [field, spec] of Object.entries(schema)) {
    if (skip.includes(field)) continue;
    out = out.option(flagName(field), spec.type === 'boolean' ? { type: 'boolean', describe: spec.doc } : { describe: helpText(spec) });
  }
  return out;
}

/** The fields of `schema` the flags give, keyed by field name (flags not given are left out). */
export function schemaArgs(argv: Readonly<Record<string, unknown>>, schema: Schema, skip: readonly string[] = []): Record<string, unknown> {
  return Object.fromEntries(Object.keys(schema).flatMap((field) => (skip.includes(field) || argv[flagName(field)] === undefined ? [] : [[field, argv[flagName(field)]]])));
}

/** The schema's options from the flags, checked (errors name the flag); flags not given stay undefined. */
export function optionsFromFlags<S extends Schema>(argv: Readonly<Record<string, unknown>>, schema: S, skip: readonly string[] = []): OptionsOf<S> {
  return parseOptions(schema, schemaArgs(argv, schema, skip));
}
