import * as tf from '@tensorflow/tfjs';
import type { Argv } from 'yargs';
import { BACKEND_NAMES, parseBackendName, type BackendInfo } from '../src/backend.js';
import { configureRuntime, runtimeOptionsFromEnv } from '../src/runtime.js';
import { DEFAULT_SDE_CONFIG, parseSdeName } from '../src/sde/registry.js';
import type { SDEConfig } from '../src/sde/types.js';
import { finiteNumber } from './validate.js';

/** Flags every command has: --backend and --json. */
export function withCommonOptions<T>(y: Argv<T>) {
  return y
    .option('backend', {
      type: 'string',
      describe: `tfjs backend: ${BACKEND_NAMES.join('|')} (default: $SDE_BACKEND or auto)`,
    })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object on stdout and nothing else there' });
}

/** Flags that choose the SDE and its schedule. */
export function withSdeOptions<T>(y: Argv<T>) {
  const d = DEFAULT_SDE_CONFIG;
  return y
    .option('sde', { type: 'string', default: d.sde, describe: 'vp | subvp | ve' })
    .option('schedule', { type: 'string', default: d.schedule, describe: 'VP/sub-VP beta(t): linear | cosine | an expression in t, e.g. "0.1 + 19.9*t"' })
    .option('beta-min', { type: 'string', default: String(d.betaMin), describe: 'linear schedule beta(0)' })
    .option('beta-max', { type: 'string', default: String(d.betaMax), describe: 'linear schedule beta(1)' })
    .option('sigma-min', { type: 'string', default: String(d.sigmaMin), describe: 'VE sigma(0)' })
    .option('sigma-max', { type: 'string', default: String(d.sigmaMax), describe: 'VE sigma(1)' });
}

/** The SDE config the SDE flags describe; the SDE's own constructor checks ranges. */
export function sdeConfigFromArgs(argv: Record<string, unknown>): SDEConfig {
  return {
    sde: parseSdeName(String(argv.sde)),
    schedule: String(argv.schedule),
    betaMin: finiteNumber('beta-min', argv['beta-min']),
    betaMax: finiteNumber('beta-max', argv['beta-max']),
    sigmaMin: finiteNumber('sigma-min', argv['sigma-min']),
    sigmaMax: finiteNumber('sigma-max', argv['sigma-max']),
  };
}

/**
 * Sets up the runtime (configureRuntime) once per command: the backend from --backend, else
 * SDE_BACKEND, else auto; threads and native kernels from the environment (SDE_WASM_THREADS,
 * SDE_NATIVE, SDE_NATIVE_THREADS). The backend is announced on stderr.
 */
export async function backendFromArgs(argv: Record<string, unknown>): Promise<BackendInfo> {
  // tfjs's own console warnings (e.g. the cpu backend's advice to install tfjs-node) would break
  // the CLI's stderr contract; PROD silences them and changes nothing else.
  tf.env().set('PROD', true);
  const env = runtimeOptionsFromEnv();
  const backend = argv.backend !== undefined ? parseBackendName(String(argv.backend), '--backend') : env.backend;
  return configureRuntime({ ...env, backend, log: (line) => process.stderr.write(line + '\n') });
}

/** Writes the command's result: JSON on stdout with --json, else the text rendering. */
export function emit(argv: Record<string, unknown>, result: object, text: () => string): void {
  if (argv.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(text() + '\n');
}
