import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { loadCsv } from '../../src/data/csv.js';
import { UsageError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { isCheckpoint, readCheckpointConfig } from '../../src/models/checkpoint.js';
import { renderReport, type ComparisonRow, type ReportData } from '../../src/report/html.js';
import { emit, withCommonOptions } from '../common.js';
import { checkOutputFile, writingOutput } from '../output-paths.js';

/** Points per scatter plot. */
const SCATTER_POINTS = 2000;

/**
 * The (step, loss) pairs of a log.jsonl. A last line without its newline is a write in progress
 * and is skipped; any other line that is not a JSON object with numeric step and loss is an error.
 */
function readLossLog(file: string): { step: number; loss: number }[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const out: { step: number; loss: number }[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const last = i === lines.length - 1;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      if (last) return;
      throw new UsageError(`${file}: line ${i + 1} is not valid JSON`);
    }
    const e = entry as { step?: unknown; loss?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.step !== 'number' || typeof e.loss !== 'number') {
      throw new UsageError(`${file}: line ${i + 1} lacks a numeric "step" and "loss"`);
    }
    out.push({ step: e.step, loss: e.loss });
  });
  return out;
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** summary.json of sde demo (or any file with the same "rows"): its comparison rows, noise floor and sample files. */
function readSummary(file: string): { rows: ComparisonRow[]; noiseFloor?: { sw2: number; energy: number }; samples: string[]; facts: Record<string, string | number> } {
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${String((e as Error).message).replace(/\s+/g, ' ')})`);
  }
  if (typeof summary !== 'object' || summary === null || Array.isArray(summary)) throw new UsageError(`${file}: expected a JSON object`);
  const rawRows = summary.rows ?? [];
  if (!Array.isArray(rawRows)) throw new UsageError(`${file}: "rows" must be an array`);
  const rows = rawRows.map((r: Record<string, unknown>, i: number): ComparisonRow => {
    if (typeof r?.solver !== 'string' || !['steps', 'nfe', 'seconds', 'sw2', 'energy'].every((k) => isNumber(r[k]))) {
      throw new UsageError(`${file}: rows[${i}] needs "solver" and numeric "steps", "nfe", "seconds", "sw2", "energy"`);
    }
    if (r.tolerance !== undefined && !isNumber(r.tolerance)) throw new UsageError(`${file}: rows[${i}].tolerance must be a number`);
    return {
      solver: r.solver,
      steps: r.steps as number,
      ...(r.tolerance === undefined ? {} : { tolerance: r.tolerance }),
      nfe: r.nfe as number,
      seconds: r.seconds as number,
      sw2: r.sw2 as number,
      energy: r.energy as number,
    };
  });
  const nf = summary.noiseFloor as { sw2?: unknown; energy?: unknown } | undefined;
  const noiseFloor = nf && isNumber(nf.sw2) && isNumber(nf.energy) ? { sw2: nf.sw2, energy: nf.energy } : undefined;
  const samples = Array.isArray(summary.samples) ? summary.samples.filter((s): s is string => typeof s === 'string') : [];
  const facts: Record<string, string | number> = {};
  for (const key of ['trainingSteps', 'stepsPerSec', 'backend'] as const) {
    const v = summary[key];
    if (isNumber(v) || typeof v === 'string') facts[key] = isNumber(v) && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v;
  }
  return { rows, ...(noiseFloor ? { noiseFloor } : {}), samples, facts };
}

/**
 * A sample file listed in the summary, looked up as written and in the run directory; 2-D rows or
 * nothing. sde demo's samples-SOLVER.csv is labelled SOLVER, so that it is drawn in that solver's colour.
 */
function scatterOf(dir: string, file: string): { label: string; points: number[][] } | undefined {
  const candidates = [file, path.join(dir, path.basename(file))];
  const found = candidates.find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
  if (!found) return undefined;
  try {
    const data = loadCsv(found);
    if (data.shape[0] !== 2) return undefined;
    const m = Math.min(data.n, SCATTER_POINTS);
    return { label: path.basename(found, '.csv').replace(/^samples-/, ''), points: Array.from({ length: m }, (_, i) => [data.x[2 * i], data.x[2 * i + 1]]) };
  } catch {
    return undefined;
  }
}

/**
 * `sde report DIR`: DIR/report.html (renderReport, written atomically) with the training loss of
 * DIR/log.jsonl or DIR/model/log.jsonl and, when DIR/summary.json exists (sde demo), its comparison
 * rows, noise floor and 2-D sample files.
 */
export const reportCommand: CommandModule = {
  command: 'report <dir>',
  describe: 'Write DIR/report.html for a training run (checkpoint with log.jsonl) or a demo output directory',
  builder: (y: Argv) =>
    withCommonOptions(y)
      .positional('dir', { type: 'string', describe: 'checkpoint directory (log.jsonl) or demo output directory (summary.json, model/)' })
      .example('$0 report runs/moons', 'training loss curve of a checkpoint: runs/moons/report.html')
      .example('$0 report demo-out', 'loss curve and solver comparison of a demo run'),
  handler: async (argv) => {
    const dir = String(argv.dir);
    if (!fs.existsSync(dir)) throw new UsageError(`${dir}: no such directory`);
    if (!fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: not a directory`);
    // DIR/report.html is written: the directory must be writable, checked before the files are read.
    const report = path.join(dir, 'report.html');
    checkOutputFile('<dir>', report, ['.html']);
    const summaryFile = path.join(dir, 'summary.json');
    const hasSummary = fs.existsSync(summaryFile);
    // The run's checkpoint: DIR itself, or DIR/model for a demo directory.
    const checkpointDir = [dir, path.join(dir, 'model')].find((d) => fs.existsSync(path.join(d, 'log.jsonl')) || isCheckpoint(d));
    const logFile = checkpointDir && fs.existsSync(path.join(checkpointDir, 'log.jsonl')) ? path.join(checkpointDir, 'log.jsonl') : undefined;
    if (!hasSummary && !logFile) {
      throw new UsageError(`${dir}: no log.jsonl or summary.json (expected a checkpoint directory of sde train or an output directory of sde demo)`);
    }
    const loss = logFile ? readLossLog(logFile) : [];
    const facts: Record<string, string | number> = { directory: dir };
    if (checkpointDir && isCheckpoint(checkpointDir)) {
      const config = readCheckpointConfig(checkpointDir);
      facts.checkpoint = checkpointDir;
      facts.step = config.step;
      facts.data = config.data.source;
      facts.sde = config.sde.sde === 've' ? 've' : `${config.sde.sde} (${config.sde.schedule})`;
    }
    if (loss.length) {
      facts['logged losses'] = loss.length;
      facts['final loss'] = Number(loss[loss.length - 1].loss.toPrecision(5));
    }
    const summary = hasSummary ? readSummary(summaryFile) : undefined;
    const scatter = (summary?.samples ?? []).map((f) => scatterOf(dir, f)).filter((s): s is { label: string; points: number[][] } => s !== undefined);
    const data: ReportData = {
      title: `Training run: ${path.basename(path.resolve(dir))}`,
      facts: { ...facts, ...(summary?.facts ?? {}) },
      ...(summary?.rows.length ? { rows: summary.rows } : {}),
      ...(summary?.noiseFloor ? { noiseFloor: summary.noiseFloor } : {}),
      ...(scatter.length ? { scatter } : {}),
      ...(loss.length ? { loss } : {}),
    };
    writingOutput('<dir>', report, () => writeFileAtomic(report, renderReport(data)));
    const result = { report, lossPoints: loss.length, rows: summary?.rows.length ?? 0, scatter: scatter.length, log: logFile ?? null, summary: hasSummary ? summaryFile : null };
    emit(argv, result, () => `report: ${report} (${loss.length} loss points, ${result.rows} comparison rows)`);
  },
};
