// Command-line flags of the configuration keys, built from the schema (src/config/schema.ts):
// names, argument placeholders, choices, help text and documented defaults all come from there.
import { Option } from 'commander';
import { InputError, brief } from '../errors.ts';
import { parseDecimal } from '../decimal.ts';
import { KEYS, choicesOf, flagKeys, flagName, type FlagDef, type SweepKey } from '../config/schema.ts';

/** A numeric flag value (decimal only); anything else is an InputError naming the flag. */
export function numberFlag(field: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = parseDecimal(raw);
  if (v === undefined || !Number.isFinite(v)) throw new InputError(field, raw, 'must be a decimal number');
  return v;
}

/** `-k name=value` pairs into an object; decimal values become numbers. A knob given twice is an error. */
export function knobFlags(pairs: string[] | undefined): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new InputError('knob', p, 'expected name=value');
    const name = p.slice(0, eq).trim();
    const raw = p.slice(eq + 1).trim();
    if (name === 'name') throw new InputError('knob', p, 'the router is chosen with --router, not -k name=...');
    if (Object.hasOwn(out, name)) throw new InputError(`router.${name}`, raw, `knob given twice (-k ${brief(`${name}=${out[name]}`)} and -k ${brief(`${name}=${raw}`)}); give it once`);
    out[name] = parseDecimal(raw) ?? raw;
  }
  return out;
}

/** Help text of a key's flag with its documented default. */
function helpOf(k: SweepKey): string {
  const def = KEYS[k] as { flag?: FlagDef; default?: unknown; doc: { default?: string } };
  const shown = def.doc.default ?? (k === 'router' ? 'vllm_default' : def.default === undefined ? '' : String(def.default));
  const plain = shown.replace(/`/g, '');
  return `${def.flag!.help}${plain ? ` (default: ${plain})` : ''}`;
}

/**
 * The `run` options of every configuration key that has a flag. No commander defaults: a flag
 * not given is absent and the schema's default applies (one place). Giving a flag twice is an
 * error rather than "the last one wins".
 */
export function scenarioOptions(): Option[] {
  return flagKeys().map((k) => {
    const flag = (KEYS[k] as { flag?: FlagDef }).flag!;
    const opt = new Option(`${flagName(k)} ${flag.arg}`, helpOf(k));
    const choices = choicesOf(k);
    // Choices for the help text only; the schema checks the value, in the words a sweep file gets.
    if (choices && k !== 'workload') opt.choices(choices);
    return opt.argParser((value: string, previous: unknown) => {
      if (previous !== undefined) {
        throw new InputError(k, value, `given twice (${flagName(k)} ${brief(String(previous))} and ${flagName(k)} ${brief(value)}); give it once`);
      }
      return value;
    });
  });
}
