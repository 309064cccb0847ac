import type { Argv } from 'yargs';
import type { Conditioning } from '../src/conditioning/condition-source.js';
import { loadCsv } from '../src/data/csv.js';
import { csvOptionsFromFlags } from './csv-options.js';
import { UsageError } from '../src/errors.js';
import type { KnownCoordinate } from '../src/oracle/index.js';
import { finiteNumber, integerAtLeast } from './validate.js';

// The set-up itself lives in src/conditioning (a library user calls it with plain options); the commands take it from here with the flags' parser.
export { checkConditioning, conditionSource, type Conditioning } from '../src/conditioning/condition-source.js';
export type { ConditionedSource } from '../src/conditioning/score-source.js';

/** Flags of conditional generation: a class with classifier-free guidance, and inpainting. */
export function withConditioningOptions<T>(y: Argv<T>) {
  return y
    .option('class', { type: 'string', describe: 'sample class C (an oracle mixture with "classes", or a class-conditional model); sde sample also takes a list C1,C2,... (--n samples of each)' })
    .option('guidance', { type: 'string', describe: 'classifier-free guidance weight W >= 0 with --class: eps = (1+W) eps(x,t,C) - W eps(x,t); W > 0 costs 2 NFE per score call (default 0)' })
    .option('known-dims', { type: 'string', describe: 'inpainting: fixed coordinates INDEX=VALUE,..., e.g. 0=1.5,2=-0.3; the others are sampled' })
    .option('known', { type: 'string', describe: 'inpainting: CSV of known values (one row for every sample, or one row per sample), with --mask' })
    .option('mask', { type: 'string', describe: 'inpainting: CSV of 0/1, 1 = known, shaped like --known (one row or one per sample)' });
}

function parseKnownDims(value: unknown): KnownCoordinate[] {
  const text = String(value);
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new UsageError(`--known-dims: expected INDEX=VALUE pairs separated by commas (e.g. 0=1.5,2=-0.3), got '${text}'`);
  const seen = new Set<number>();
  return parts.map((p) => {
    const m = /^([^=]*)=(.*)$/.exec(p);
    if (!m) throw new UsageError(`--known-dims: expected INDEX=VALUE (e.g. 0=1.5), got '${p}'`);
    const index = Number(m[1].trim());
    if (m[1].trim() === '' || !Number.isInteger(index) || index < 0) throw new UsageError(`--known-dims: expected an index >= 0 before '=', got '${m[1]}' in '${p}'`);
    const v = m[2].trim() === '' ? NaN : Number(m[2]);
    if (!Number.isFinite(v)) throw new UsageError(`--known-dims: expected a finite number after '=', got '${m[2]}' in '${p}'`);
    if (seen.has(index)) throw new UsageError(`--known-dims: index ${index} is given more than once`);
    seen.add(index);
    return [index, v] as const;
  });
}

/** --class C or C1,C2,...: distinct integers >= 0, in the order given. */
function parseClassList(value: unknown): number[] {
  const parts = String(value).split(',').map((p) => p.trim());
  const labels = parts.map((p) => integerAtLeast('class', p, 0));
  const repeated = labels.find((c, i) => labels.indexOf(c) !== i);
  if (repeated !== undefined) throw new UsageError(`--class: class ${repeated} is listed twice in '${String(value)}'`);
  return labels;
}

/**
 * Parses --class, --guidance, --known-dims, --known and --mask; every problem is a one-line
 * UsageError naming the flag: --guidance needs --class; --known-dims excludes --known/--mask;
 * --known and --mask come together; files must be readable CSVs, the mask all 0 or 1.
 */
export function conditioningFromArgs(argv: Record<string, unknown>): Conditioning {
  const out: Conditioning = { guidance: 0 };
  if (argv.class !== undefined) {
    out.labels = parseClassList(argv.class);
    out.label = out.labels[0];
  }
  if (argv.guidance !== undefined) {
    const w = finiteNumber('guidance', argv.guidance);
    if (w < 0) throw new UsageError(`--guidance: expected a number >= 0, got ${w}`);
    if (out.label === undefined) throw new UsageError('--guidance: needs --class C (the class to guide towards)');
    out.guidance = w;
  }
  const hasKnown = argv.known !== undefined;
  const hasMask = argv.mask !== undefined;
  if (argv['known-dims'] !== undefined) {
    if (hasKnown || hasMask) throw new UsageError(`--known-dims: give either --known-dims or --known FILE --mask FILE, not both`);
    out.knownDims = parseKnownDims(argv['known-dims']);
  }
  if (hasKnown !== hasMask) throw new UsageError(hasKnown ? '--known: needs --mask FILE (1 = known, 0 = to sample)' : '--mask: needs --known FILE (the known values)');
  if (hasKnown) {
    const knownFile = String(argv.known);
    const maskFile = String(argv.mask);
    const csv = csvOptionsFromFlags(argv);
    const known = loadCsv(knownFile, { label: `--known ${knownFile}`, ...csv });
    const mask = loadCsv(maskFile, { label: `--mask ${maskFile}`, ...csv });
    const d = mask.shape[0];
    mask.x.forEach((v, i) => {
      if (v !== 0 && v !== 1) throw new UsageError(`--mask ${maskFile}: row ${Math.floor(i / d) + 1}, column ${(i % d) + 1}: expected 0 or 1, got ${v}`);
    });
    out.knownFiles = { known, mask, knownFile, maskFile };
  }
  return out;
}

/** The fields a command's JSON result adds for the conditioning flags given (none without them). */
export function conditioningSummary(c: Conditioning): Record<string, unknown> {
  return {
    ...(c.label !== undefined ? { class: c.labels && c.labels.length > 1 ? c.labels : c.label, guidance: c.guidance } : {}),
    ...(c.knownDims ? { knownDims: c.knownDims.map(([j]) => j) } : {}),
    ...(c.knownFiles ? { known: c.knownFiles.knownFile, mask: c.knownFiles.maskFile } : {}),
  };
}
