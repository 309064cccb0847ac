import type { Argv } from 'yargs';
import { CSV_SCHEMA, type CsvFormat } from '../src/data/csv-options.js';
import { optionsFromFlags, withSchemaFlags } from './schema-flags.js';

/*
 * The CSV layout flags, --header and --delimiter, made from CSV_SCHEMA (src/data/csv-options.ts):
 * commands that read CSV input add them and pass csvOptionsFromFlags(argv) on to loadCsv.
 */

/** Adds --header (auto | yes | no) and --delimiter (auto | comma | tab | semicolon | space). */
export function withCsvOptions<T>(y: Argv<T>): Argv<T> {
  return withSchemaFlags(y, CSV_SCHEMA);
}

/** The CSV layout the flags give, checked (errors name the flag); `--header` alone means yes; flags not given stay undefined (auto). */
export function csvOptionsFromFlags(argv: Readonly<Record<string, unknown>>): CsvFormat {
  return optionsFromFlags({ ...argv, header: argv.header === true ? 'yes' : argv.header }, CSV_SCHEMA);
}
