import { choice, type OptionsOf, type Schema } from '../options/schema.js';

/** The field separators a CSV may use: detected (auto) or named; space means runs of spaces or tabs. */
export const CSV_DELIMITERS = ['auto', 'comma', 'tab', 'semicolon', 'space'] as const;

/**
 * How a CSV file is laid out, declared once: loadCsv/parseCsv check these options and the CLI
 * makes --header and --delimiter from them (cli/csv-options.ts).
 */
export const CSV_SCHEMA = {
  header: choice(['auto', 'yes', 'no'], {
    default: 'auto',
    doc: 'CSV input: is the first row column names (auto: when it is not all numbers and the next row is; --header alone: yes)',
  }),
  delimiter: choice(CSV_DELIMITERS, { default: 'auto', doc: 'CSV input: the field separator (auto: detected from the first lines; space: runs of spaces or tabs)' }),
} as const satisfies Schema;

/** The layout options of a CSV file (CSV_SCHEMA's fields; absent: auto). */
export type CsvFormat = OptionsOf<typeof CSV_SCHEMA>;
