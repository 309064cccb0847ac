import { loadCsv } from '../data/csv.js';
import { UsageError } from '../errors.js';
import type { CsvFormat } from '../data/csv-options.js';
import { checkOption, OptionError, type NumberSpec, type OptionsOf, type Schema } from '../options/schema.js';
import type { KnownCoordinate } from '../oracle/conditional.js';
import type { Conditioning } from './condition-source.js';

/**
 * The options of conditional generation, declared once: a class (or a list of classes) with a
 * classifier-free guidance weight, and inpainting by fixed coordinates or by files of known
 * values and their mask. conditioningFromOptions checks them; the CLI makes --class, --guidance,
 * --known-dims, --known and --mask from them.
 */
export const CONDITIONING_SCHEMA = {
  class: {
    type: 'text',
    accepts: 'a class C >= 0, or a list C1,C2,...',
    doc: 'sample class C (an oracle mixture with "classes", or a class-conditional model); sde sample also takes a list C1,C2,... (--n samples of each)',
  },
  guidance: { type: 'number', min: 0, doc: 'classifier-free guidance weight W with --class: eps = (1+W) eps(x,t,C) - W eps(x,t); W > 0 costs 2 NFE per score call (default 0)' },
  knownDims: { type: 'text', accepts: 'INDEX=VALUE pairs, e.g. 0=1.5,2=-0.3', doc: 'inpainting: fixed coordinates; the others are sampled' },
  known: { type: 'text', accepts: 'a CSV file', doc: 'inpainting: CSV of known values (one row for every sample, or one row per sample), with --mask' },
  mask: { type: 'text', accepts: 'a CSV file', doc: 'inpainting: CSV of 0/1, 1 = known, shaped like --known (one row or one per sample)' },
} as const satisfies Schema;

export type ConditioningOptions = OptionsOf<typeof CONDITIONING_SCHEMA>;

const CLASS_LABEL: NumberSpec = { type: 'number', integer: true, min: 0, doc: 'a class label' };

/** `C` or `C1,C2,...`: distinct integers >= 0, in the order given. */
function parseClassList(text: string): number[] {
  const labels = text.split(',').map((p) => checkOption('class', CLASS_LABEL, p.trim()) as number);
  const repeated = labels.find((c, i) => labels.indexOf(c) !== i);
  if (repeated !== undefined) throw new OptionError('class', `class ${repeated} is listed twice in '${text}'`);
  return labels;
}

/** `INDEX=VALUE,...`: distinct indices >= 0 with finite values. */
function parseKnownDims(text: string): KnownCoordinate[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new OptionError('knownDims', `expected INDEX=VALUE pairs separated by commas (e.g. 0=1.5,2=-0.3), got '${text}'`);
  const seen = new Set<number>();
  return parts.map((p) => {
    const m = /^([^=]*)=(.*)$/.exec(p);
    if (!m) throw new OptionError('knownDims', `expected INDEX=VALUE (e.g. 0=1.5), got '${p}'`);
    const index = Number(m[1].trim());
    if (m[1].trim() === '' || !Number.isInteger(index) || index < 0) throw new OptionError('knownDims', `expected an index >= 0 before '=', got '${m[1]}' in '${p}'`);
    const v = m[2].trim() === '' ? NaN : Number(m[2]);
    if (!Number.isFinite(v)) throw new OptionError('knownDims', `expected a finite number after '=', got '${m[2]}' in '${p}'`);
    if (seen.has(index)) throw new OptionError('knownDims', `index ${index} is given more than once`);
    seen.add(index);
    return [index, v] as const;
  });
}

/** The known values and mask files, read with the CSV layout `csv`; the mask must hold only 0 and 1. */
function readKnownFiles(knownFile: string, maskFile: string, csv: CsvFormat): NonNullable<Conditioning['knownFiles']> {
  const known = loadCsv(knownFile, { label: `--known ${knownFile}`, ...csv });
  const mask = loadCsv(maskFile, { label: `--mask ${maskFile}`, ...csv });
  const d = mask.shape[0];
  mask.x.forEach((v, i) => {
    if (v !== 0 && v !== 1) throw new UsageError(`--mask ${maskFile}: row ${Math.floor(i / d) + 1}, column ${(i % d) + 1}: expected 0 or 1, got ${v}`);
  });
  return { known, mask, knownFile, maskFile };
}

/**
 * The conditioning that plain options ask for (CONDITIONING_SCHEMA's fields, as a config file or
 * the CLI gives them), checked; every problem is an OptionError naming the field: guidance needs
 * a class; knownDims excludes known/mask; known and mask come together; the files must be
 * readable CSVs (layout `csv`), the mask all 0 or 1.
 */
export function conditioningFromOptions(raw: Readonly<Record<string, unknown>>, csv: CsvFormat = {}): Conditioning {
  const o: ConditioningOptions = Object.fromEntries(
    Object.entries(CONDITIONING_SCHEMA).flatMap(([field, spec]) => (raw[field] === undefined ? [] : [[field, checkOption(field, spec, raw[field])]])),
  );
  const out: Conditioning = { guidance: 0 };
  if (o.class !== undefined) {
    out.labels = parseClassList(o.class);
    out.label = out.labels[0];
  }
  if (o.guidance !== undefined) {
    if (out.label === undefined) throw new OptionError('guidance', 'needs --class C (the class to guide towards)');
    out.guidance = o.guidance;
  }
  if (o.knownDims !== undefined) {
    if (o.known !== undefined || o.mask !== undefined) throw new OptionError('knownDims', 'give either --known-dims or --known FILE --mask FILE, not both');
    out.knownDims = parseKnownDims(o.knownDims);
  }
  if ((o.known === undefined) !== (o.mask === undefined)) {
    throw o.known !== undefined ? new OptionError('known', 'needs --mask FILE (1 = known, 0 = to sample)') : new OptionError('mask', 'needs --known FILE (the known values)');
  }
  if (o.known !== undefined && o.mask !== undefined) out.knownFiles = readKnownFiles(o.known, o.mask, csv);
  return out;
}
