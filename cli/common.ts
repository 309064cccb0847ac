import * as tf from '@tensorflow/tfjs';
import type { Argv } from 'yargs';
import { BACKEND_NAMES, parseBackendName, type BackendInfo } from '../src/backend.js';
import { configureRuntime, runtimeOptionsFromEnv } from '../src/runtime.js';
import { SDE_SCHEMA } from '../src/sde/options.js';
import { DEFAULT_SDE_CONFIG } from '../src/sde/registry.js';
import { optionsFromFlags, withSchemaFlags } from './schema-flags.js';
import type { SDEConfig } from '../src/sde/types.js';

/** Flags every command has: --backend and --json. */
export function withCommonOptions<T>(y: Argv<T>) {
  return y
    .option('backend', {
      type: 'string',
      describe: `tfjs backend: ${BACKEND_NAMES.join('|')} (default: $SDE_BACKEND or auto)`,
    })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object on stdout and nothing else there' });
}

/** The SDE flags (--sde, --schedule, --beta-min, ...), made from SDE_SCHEMA; defaults shown in the help. */
export function withSdeOptions<T>(y: Argv<T>): Argv<T> {
  return withSchemaFlags(y, SDE_SCHEMA);
}

/** The SDE flags given, checked (errors name the flag); those not given are left out. */
export function sdeFlagsGiven(argv: Readonly<Record<string, unknown>>): Partial<SDEConfig> {
  return optionsFromFlags(argv, SDE_SCHEMA);
}

/** The SDE config the SDE flags describe (flags not given: the defaults); the SDE's constructor checks ranges between fields. */
export function sdeConfigFromArgs(argv: Readonly<Record<string, unknown>>): SDEConfig {
  return { ...DEFAULT_SDE_CONFIG, ...sdeFlagsGiven(argv) };
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
