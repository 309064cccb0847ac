import { UsageError } from '../errors.js';

/*
 * Options declared once, as data: each domain (solver, SDE, training, ...) lists its fields with
 * a type, a range, a default and one line of documentation. src validates a plain object
 * against the list (a config file's JSON or the CLI's parsed flags, numbers given as numbers or
 * as decimal strings) and names the field in its errors; the CLI builds its flags, their typed
 * help and the field-to-flag names (camelCase -> --kebab-case) from the same list.
 */

/** A number option: `integer`, bounds min/max (inclusive), above/below (exclusive), or a fixed set `oneOf`. */
export interface NumberSpec {
  readonly type: 'number';
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly above?: number;
  readonly below?: number;
  readonly oneOf?: readonly number[];
  /** What the number is, in errors and help ('a decay', 'a probability'; default 'a number'). */
  readonly noun?: string;
  readonly default?: number;
  readonly doc: string;
}

/** A choice among fixed strings. */
export interface ChoiceSpec<C extends string = string> {
  readonly type: 'choice';
  readonly choices: readonly C[];
  readonly default?: C;
  readonly doc: string;
}

/** An on/off switch. */
export interface SwitchSpec {
  readonly type: 'boolean';
  readonly default?: boolean;
  readonly doc: string;
}

/** A free text option (a schedule name or expression), checked where it is used; `accepts` says what it takes. */
export interface TextSpec {
  readonly type: 'text';
  readonly accepts: string;
  readonly default?: string;
  readonly doc: string;
}

export type OptionSpec = NumberSpec | ChoiceSpec | SwitchSpec | TextSpec;

/** A domain's options: field name -> spec. */
export type Schema = { readonly [field: string]: OptionSpec };

type ValueOf<S> = S extends NumberSpec ? number : S extends ChoiceSpec<infer C> ? C : S extends SwitchSpec ? boolean : S extends TextSpec ? string : never;

/** The plain object a schema describes; every field optional (absent: the default applies where it is used). */
export type OptionsOf<S extends Schema> = { -readonly [K in keyof S]?: ValueOf<S[K]> };

/** A choice option whose string literals TypeScript keeps (for OptionsOf). */
export function choice<const C extends string>(choices: readonly C[], rest: { default?: NoInfer<C>; doc: string }): ChoiceSpec<C> {
  return { type: 'choice', choices, ...rest };
}

/**
 * A bad value of one field. The message names the field's CLI flag (`--corrector-steps: PROBLEM`),
 * the form most users see; `field` and `problem` let another front end (a config file reader)
 * name the field its own way.
 */
export class OptionError extends UsageError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`--${flagName(field)}: ${problem}`);
  }
}

/** The CLI flag of a field: camelCase -> kebab-case (correctorSteps -> corrector-steps). */
export function flagName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The field of a CLI flag (the inverse of flagName). */
export function fieldName(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** What a number spec accepts, in words: 'a positive number', 'an integer from 2 to 10', 'one of 2, 3', ... */
export function describeNumber(spec: NumberSpec): string {
  if (spec.oneOf) return `one of ${spec.oneOf.join(', ')}`;
  const kind = spec.noun ?? (spec.integer ? 'an integer' : 'a number');
  const { min, max, above, below } = spec;
  if (above === 0 && below === undefined && max === undefined) return spec.integer ? 'a positive integer' : 'a positive number';
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (above !== undefined && below !== undefined) return `${kind} in (${above}, ${below})`;
  if (min !== undefined && below !== undefined) return `${kind} in [${min}, ${below})`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (above !== undefined) return `${kind} > ${above}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  if (below !== undefined) return `${kind} < ${below}`;
  return kind;
}

function inRange(spec: NumberSpec, v: number): boolean {
  if (spec.oneOf) return spec.oneOf.includes(v);
  if (spec.integer && !Number.isInteger(v)) return false;
  return !(
    (spec.min !== undefined && v < spec.min) ||
    (spec.max !== undefined && v > spec.max) ||
    (spec.above !== undefined && !(v > spec.above)) ||
    (spec.below !== undefined && !(v < spec.below))
  );
}

/** A finite number from a number or a decimal string ('1e-3', ' 20 '); undefined otherwise. */
function toNumber(value: unknown): number | undefined {
  const v = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** One field's value checked against its spec: the typed value, or an OptionError naming the field. */
export function checkOption(field: string, spec: OptionSpec, value: unknown): number | string | boolean {
  switch (spec.type) {
    case 'number': {
      const v = toNumber(value);
      if (v === undefined) throw new OptionError(field, `expected a number, got '${String(value)}'`);
      if (!inRange(spec, v)) throw new OptionError(field, `expected ${describeNumber(spec)}, got ${v}`);
      return v;
    }
    case 'choice':
      if (typeof value === 'string' && spec.choices.includes(value)) return value;
      throw new OptionError(field, `expected one of ${spec.choices.join(', ')}, got '${String(value)}'`);
    case 'text':
      if (typeof value === 'string' && value.trim() !== '') return value;
      throw new OptionError(field, `expected ${spec.accepts}, got '${String(value)}'`);
    case 'boolean':
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      throw new OptionError(field, `expected true or false, got '${String(value)}'`);
  }
}

/**
 * The fields of `raw` that the schema declares, each checked (undefined values are dropped, so
 * defaults apply where the options are used). A field the schema does not declare is an error
 * unless `unknown: 'ignore'` (an object holding several domains' options).
 */
export function parseOptions<S extends Schema>(schema: S, raw: Readonly<Record<string, unknown>>, o: { unknown?: 'error' | 'ignore' } = {}): OptionsOf<S> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(raw)) {
    const spec = schema[field];
    if (!spec) {
      if (o.unknown !== 'ignore' && value !== undefined) throw new OptionError(field, `unknown option; expected one of ${Object.keys(schema).join(', ')}`);
      continue;
    }
    if (value !== undefined) out[field] = checkOption(field, spec, value);
  }
  return out as OptionsOf<S>;
}

/** The schema's defaults as a plain object (fields without a default are left out). */
export function defaultsOf<S extends Schema>(schema: S): OptionsOf<S> {
  return Object.fromEntries(Object.entries(schema).flatMap(([k, s]) => (s.default === undefined ? [] : [[k, s.default]]))) as OptionsOf<S>;
}

/** A number as people write it in flags: 1e-5 rather than 0.00001, 100000 as is. */
function shownNumber(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}

/** The help text of one option: its doc, then what it accepts and its default, e.g. 'tolerance [number > 0, default 1e-5]'. */
export function helpText(spec: OptionSpec): string {
  const accepts = spec.type === 'number' ? describeNumber(spec) : spec.type === 'choice' ? `one of ${spec.choices.join(' | ')}` : spec.type === 'text' ? spec.accepts : 'switch';
  const shown = typeof spec.default === 'number' ? shownNumber(spec.default) : String(spec.default);
  const tag = spec.default === undefined ? accepts : `${accepts}, default ${shown}`;
  return `${spec.doc} [${tag}]`;
}
