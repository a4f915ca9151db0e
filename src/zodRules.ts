// Building blocks for the zod schemas of user input (configuration keys, sweep files, model
// files) and the one conversion from a zod failure to an InputError (field path + rule + value).
import { z } from 'zod';
import { InputError } from './errors.ts';

const numberError = (iss: { input?: unknown }) =>
  typeof iss.input === 'number' && !Number.isNaN(iss.input) ? 'must be a finite number' : 'must be a number';

/** "an integer in [1, 4096]", "a number in (0, 100]". */
export function describeRange(o: { min: number; max: number; int?: boolean; minExclusive?: boolean }): string {
  return `${o.int ? 'an integer' : 'a number'} in ${o.minExclusive ? '(' : '['}${o.min}, ${o.max}]`;
}

/** A finite number in a range; `rule` completes "must be ..." (e.g. "an integer in [1, 4096]"). */
export function numberIn(o: { min: number; max: number; int?: boolean; minExclusive?: boolean; rule?: string; tooSmall?: string; tooBig?: string }) {
  const rule = `must be ${o.rule ?? describeRange(o)}`;
  let s = z.number({ error: numberError });
  if (o.int) s = s.int({ error: rule });
  s = o.minExclusive ? s.gt(o.min, { error: o.tooSmall ?? rule }) : s.min(o.min, { error: o.tooSmall ?? rule });
  return s.max(o.max, { error: o.tooBig ?? rule });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(', ')}` });
}

/** Error message of a strict mapping: unknown keys listed, anything else "must be <shape>". */
export const unknownKeyError = (known: readonly string[], shape: string, prefix = 'unknown key') => (iss: { code?: string }) =>
  iss.code === 'unrecognized_keys' ? `${prefix}; known keys: ${known.join(', ')}` : `must be ${shape}`;

/** `axes.router[1]` + ['b', 0] -> `axes.router[1].b[0]`. */
export function joinPath(field: string, path: readonly (string | number)[]): string {
  return path.reduce<string>((f, p) => (typeof p === 'number' ? `${f}[${p}]` : f === '' ? p : `${f}.${p}`), field);
}

/** Parse `value` with a schema; the first problem becomes an InputError at `field` + its path. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  // A custom rule says which value it is about (e.g. a key); built-in ones are about the value at the path.
  // Unknown keys first (as a reader checks spelling before values), then in the schema's order.
  const issue = r.error.issues.find((i) => i.code === 'unrecognized_keys') ?? r.error.issues[0];
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const k = issue.keys[0];
    throw new InputError(joinPath(field, [...path, k]), k, issue.message);
  }
  throw new InputError(joinPath(field, path), issue.code === 'custom' && 'input' in issue ? issue.input : valueAt(value, path), issue.message);
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}
