import fs from 'node:fs';
import { sampleSize, type Dataset } from '../data/dataset.js';
import type { CsvFormat } from '../data/csv-options.js';
import { loadDataset, normalize, standardize, TOY_DATASETS, isToyName } from '../data/index.js';
import { UsageError } from '../errors.js';
import type { Schema } from '../options/schema.js';
import type { CheckpointConfig, DataInfo } from '../models/checkpoint.js';
import { sha256Hex } from '../models/weights-io.js';

/**
 * The data options of a training run, declared once: the data (a built-in set, mnist or a CSV),
 * the size of a drawn set, a CSV's label column and class-conditional training. loadRunData
 * checks how they fit together; the CLI makes --data, --n-data, --label-column and --conditional
 * from them (the CSV layout is CSV_SCHEMA's).
 */
export const RUN_DATA_SCHEMA = {
  data: { type: 'text', accepts: `${TOY_DATASETS.join(' | ')} | mnist | FILE.csv`, doc: 'training data (required, except with --resume: the checkpoint\'s)' },
  nData: { type: 'number', integer: true, min: 1, max: 10_000_000, doc: 'points drawn from a built-in 2-D set (default 100000), or the first N mnist digits' },
  labelColumn: { type: 'number', integer: true, min: 0, max: 1_000_000, doc: 'CSV data: 0-based column K holding integer class labels 0..C-1 (not part of the data)' },
  conditional: { type: 'boolean', default: false, doc: 'class-conditional model for classifier-free guidance (needs labels: mnist, or a CSV with --label-column)' },
} as const satisfies Schema;

/** What a run asks of its data: `--data` and its options; on resume the checkpoint it continues. */
export interface RunDataRequest {
  /** A built-in set's name, 'mnist' or a CSV file; none on resume: the checkpoint's. */
  data?: string;
  /** A CSV's layout (header row, delimiter; default: detected). */
  csv?: CsvFormat;
  /** Points of a built-in set (at most this many MNIST digits). */
  nData?: number;
  /** CSV: the column holding integer class labels. */
  labelColumn?: number;
  /** A class-conditional run (needs labels). */
  conditional: boolean;
  /** The run's seed (a fresh run: it draws a built-in set). */
  seed: number;
  /** The run directory (for messages). */
  out: string;
  /** The checkpoint a resume continues. */
  stored?: CheckpointConfig;
}

/** A run's data, mapped to model coordinates, and what the checkpoint records of it. */
export interface RunData {
  /** The data's name as given (or the checkpoint's). */
  spec: string;
  data: Dataset;
  record: Pick<DataInfo, 'n' | 'labelColumn' | 'sha256'>;
  /** Lines for the user (a resume that records a renamed CSV). */
  notes: string[];
}

/**
 * Loads a run's data. A built-in set is drawn with the run's seed and size (on resume the recorded
 * ones) and is standardized already, MNIST is in [-1, 1]; a CSV is standardized, or on resume
 * mapped with the checkpoint's normalization x' = (x - mean) / std and required to hold the bytes
 * it was trained on (its sha256). Every mismatch is a UsageError naming the flag.
 */
export function loadRunData(r: RunDataRequest): RunData {
  const { stored, out } = r;
  const trained = stored?.data;
  if (!stored && r.data === undefined) throw new UsageError(`--data: required: ${TOY_DATASETS.join(', ')}, mnist or a CSV file (with --resume the checkpoint's data is used)`);
  const spec = stored ? resumedDataSpec(r.data, stored, out) : r.data!;
  const csv = !isToyName(spec) && spec !== 'mnist';
  checkDataFlags(r, spec, csv);
  const labelColumn = r.labelColumn ?? trained?.labelColumn;
  if (r.conditional || stored?.model.network.numClasses !== undefined) {
    const why = r.conditional ? '--conditional' : `--resume: the checkpoint in '${out}' is class-conditional and`;
    if (isToyName(spec)) throw new UsageError(`${why}: needs class labels, and the built-in data set '${spec}' has none (use mnist or a CSV with --label-column K)`);
    if (csv && labelColumn === undefined) throw new UsageError(`${why}: needs class labels: give --label-column K, the CSV column of ${spec} that holds them`);
  }
  const seed = stored ? Number((stored.training as { seed?: number } | undefined)?.seed ?? 0) : r.seed;
  const loaded = loadDataset(spec, { ...r.csv, n: r.nData ?? trained?.n, seed, ...(labelColumn !== undefined ? { labelColumn } : {}) });
  const d = sampleSize(loaded.shape);
  if (trained && sampleSize(trained.shape) !== d) {
    throw new UsageError(`--data ${spec}: samples have ${d} values, the checkpoint in '${out}' was trained on ${sampleSize(trained.shape)}`);
  }
  const notes: string[] = [];
  const sha256 = csv ? sha256Hex(fs.readFileSync(spec)) : undefined;
  if (stored && sha256 !== undefined) checkSameCsv(spec, r.data, stored, out, sha256, (line) => notes.push(line));
  const data = !csv ? loaded : trained ? { ...loaded, x: normalize(loaded.x, trained.normalization, d), normalization: trained.normalization } : standardize(loaded);
  const record = { n: loaded.n, ...(labelColumn !== undefined ? { labelColumn } : {}), ...(sha256 !== undefined ? { sha256 } : {}) };
  return { spec, data, record, notes };
}

/** --data exists; --n-data and --label-column fit the kind of data and, on resume, the recorded ones. */
function checkDataFlags(r: RunDataRequest, spec: string, csv: boolean): void {
  const trained = r.stored?.data;
  if (csv && !fs.existsSync(spec)) throw new UsageError(`--data: '${spec}' is neither a built-in data set (${TOY_DATASETS.join(', ')}, mnist) nor an existing CSV file`);
  if (csv && r.nData !== undefined) throw new UsageError(`--n-data: only for the built-in data sets and mnist, not for the CSV file '${spec}'`);
  if (!csv && r.labelColumn !== undefined) throw new UsageError(`--label-column: only for CSV data, not for the built-in data set '${spec}'`);
  if (trained && r.nData !== undefined && trained.n !== undefined && r.nData !== trained.n) {
    throw new UsageError(`--n-data: the checkpoint in '${r.out}' was trained on ${trained.n} points, not ${r.nData}; --resume keeps it (drop --n-data)`);
  }
  if (trained && r.labelColumn !== undefined && trained.labelColumn !== undefined && r.labelColumn !== trained.labelColumn) {
    throw new UsageError(`--label-column: the checkpoint in '${r.out}' was trained with labels in column ${trained.labelColumn}, not ${r.labelColumn}; --resume keeps it`);
  }
}

/**
 * On resume, the data: the checkpoint's recorded source unless --data is given, and a given one
 * must be the same (a built-in set by name, a CSV by content when its sha256 is recorded).
 */
function resumedDataSpec(given: string | undefined, stored: CheckpointConfig, out: string): string {
  const source = stored.data.source;
  const builtIn = (s: string) => isToyName(s) || s === 'mnist';
  const spec = given ?? source;
  if (builtIn(source) || builtIn(spec)) {
    if (spec !== source) throw new UsageError(`--data: the checkpoint in '${out}' was trained on '${source}', not '${spec}'; --resume keeps it (drop --data, or start a new run in another --out)`);
    return spec;
  }
  if (!fs.existsSync(spec) || !fs.statSync(spec).isFile()) {
    if (given === undefined) throw new UsageError(`--data: the checkpoint in '${out}' was trained on '${source}', which cannot be read from here (no such file); give --data FILE with the same rows`);
    return spec; // reported as a missing file by the usual check
  }
  if (stored.data.sha256 === undefined && spec !== source) {
    throw new UsageError(`--data: the checkpoint in '${out}' was trained on '${source}', not '${spec}'; --resume keeps it (drop --data, or start a new run in another --out)`);
  }
  return spec;
}

/** On resume from a CSV whose sha256 is recorded: the file must hold the same bytes (checked after its dimension). */
function checkSameCsv(spec: string, given: string | undefined, stored: CheckpointConfig, out: string, bytesSha: string, note: (line: string) => void): void {
  const { source, sha256 } = stored.data;
  if (sha256 === undefined) return;
  if (bytesSha !== sha256) {
    throw new UsageError(given === undefined || spec === source
      ? `--data: '${spec}' changed since the checkpoint in '${out}' was trained on it (its sha256 differs); --resume needs the same data`
      : `--data: '${spec}' is not the data the checkpoint in '${out}' was trained on ('${source}', another sha256); --resume keeps it`);
  }
  if (spec !== source) note(`--data: '${spec}' holds the same bytes as the recorded '${source}'; the checkpoint now records '${spec}'`);
}
