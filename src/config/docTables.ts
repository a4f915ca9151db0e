// The option tables of docs/sweeps.md, generated from the schema (scripts/docs-tables.ts writes
// them; test/config/docs.test.ts checks that the docs match).
import { z } from 'zod';
import { KEYS, SWEEP_KEYS, flagKeys, flagName, type FlagDef, type SweepKey } from './schema.ts';

/** Marks around a generated block in a markdown file. */
export const marks = (name: string) => ({ begin: `<!-- generated:${name} (scripts/docs-tables.ts) -->`, end: `<!-- /generated:${name} -->` });

function defaultText(k: SweepKey): string {
  const def = KEYS[k] as { default?: unknown; doc: { default?: string } };
  if (def.doc.default !== undefined) return def.doc.default;
  const d = k === 'router' ? (def.default as { name: string }).name : def.default;
  return typeof d === 'string' || typeof d === 'boolean' ? `\`${d}\`` : d === undefined ? '' : String(d);
}

const num = (x: number) => (x === 2 ** 31 - 1 ? '2³¹−1' : x === 2 ** 32 - 1 ? '2³²−1' : Math.abs(x) >= 10_000 ? x.toLocaleString('en-US') : String(x));

/** The Value column: the documented form, or the range or choices read from the key's schema. */
export function valueText(k: SweepKey): string {
  const given = (KEYS[k].doc as { value?: string }).value;
  if (given !== undefined) return given;
  const js = z.toJSONSchema(KEYS[k].schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  if (Array.isArray(js.enum)) return js.enum.map((v) => `\`${String(v)}\``).join(', ');
  if (js.type === 'boolean') return '`true`, `false`';
  if (js.type === 'integer' || js.type === 'number') {
    const lo = js.exclusiveMinimum !== undefined ? `> ${num(js.exclusiveMinimum as number)}` : undefined;
    const range = lo ? `${lo}, ≤ ${num(js.maximum as number)}` : `${num(js.minimum as number)} … ${num(js.maximum as number)}`;
    return `${js.type} ${range}`;
  }
  throw new Error(`schema.ts: key ${k} needs doc.value (its schema has no simple range or choices)`);
}

/** Key | Value | Default | Meaning, one row per key. */
export function keysTable(): string {
  const rows = SWEEP_KEYS.map((k) => `| \`${k}\` | ${valueText(k)} | ${defaultText(k)} | ${KEYS[k].doc.meaning} |`);
  return ['| Key | Value | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Flag | Key, one row per `run` flag of a configuration key. */
export function runFlagsTable(): string {
  const rows = flagKeys().flatMap((k) => {
    const flag = (KEYS[k] as { flag?: FlagDef }).flag!;
    const row = `| \`${flagName(k)} ${flag.arg}\` | \`${k}\` |`;
    return k === 'router' ? [row, '| `-k, --knob <name=value>` (repeatable) | a knob of `router` |'] : [row];
  });
  return ['| Flag | Key |', '| --- | --- |', ...rows].join('\n');
}

/** All generated blocks by name. */
export const GENERATED: Record<string, () => string> = { keys: keysTable, 'run-flags': runFlagsTable };

/** `text` with every generated block replaced by its current content. */
export function withGeneratedTables(text: string): string {
  let out = text;
  for (const [name, make] of Object.entries(GENERATED)) {
    const { begin, end } = marks(name);
    const i = out.indexOf(begin);
    const j = out.indexOf(end);
    if (i < 0 || j < i) throw new Error(`missing ${begin} ... ${end}`);
    out = `${out.slice(0, i + begin.length)}\n${make()}\n${out.slice(j)}`;
  }
  return out;
}
