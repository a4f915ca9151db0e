import { InputError } from '../errors.ts';

/** A numeric flag value; anything that is not a finite number is an InputError naming the flag. */
export function numberFlag(field: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new InputError(field, raw, 'must be a number');
  return v;
}

/** `-k name=value` pairs into an object; numeric-looking values become numbers. */
export function knobFlags(pairs: string[] | undefined): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new InputError('knob', p, 'expected name=value');
    const name = p.slice(0, eq).trim();
    const raw = p.slice(eq + 1).trim();
    const num = Number(raw);
    out[name] = raw !== '' && Number.isFinite(num) ? num : raw;
  }
  return out;
}
