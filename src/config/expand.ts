// From a sweep (or one flat entry) to fully resolved configurations. Expansion order:
// docs/sweeps.md, "Expansion order".
import { dirname, isAbsolute, join } from 'node:path';
import { InputError } from '../errors.ts';
import type { Scenario } from './scenario.ts';
import { buildScenario, type CheckedValues, type ModelCache } from './buildScenario.ts';
import { expandRouter, prepareRouter, routerChoices, type PreparedRouter, type RouterChoice } from './routerValue.ts';
import { readSweepFile, withLocation, type SweepSource } from './sweepFile.ts';
import { MAX_CONFIGURATIONS, type FieldPath, type LoadedSweep, type SweepEntry, type SweepKey, type SweepSpec } from './sweepSchema.ts';
import { checkKey, checkValue, isPlainObject, type RouterValue } from './validate.ts';

export { parseShard, selectShard, type Shard } from './shard.ts';
export type { LoadedSweep } from './sweepSchema.ts';

/** Read, validate and expand a sweep file. Errors carry `file:line`. */
export function loadSweepFile(file: string): LoadedSweep {
  const source = readSweepFile(file);
  return { name: source.spec.name, file, scenarios: expandSweep(source) };
}

/** Expand a parsed sweep into configurations with index 0..n-1. */
export function expandSweep(source: SweepSource | SweepSpec): Scenario[] {
  const spec = 'spec' in source ? source.spec : source;
  try {
    return expand(spec);
  } catch (e) {
    throw 'spec' in source ? withLocation(e, spec.file, source.lineOf) : e;
  }
}

/** Number of configurations a sweep expands to, without expanding it (checks values on the way). */
export function countConfigurations(source: SweepSource | SweepSpec): number {
  const spec = 'spec' in source ? source.spec : source;
  try {
    return plan(spec).count;
  } catch (e) {
    throw 'spec' in source ? withLocation(e, spec.file, source.lineOf) : e;
  }
}

/**
 * One configuration from a flat object of sweep keys (what `run` builds from its flags). Same
 * rules as sweep files; fields are the bare keys. `undefined` values count as not given.
 */
export function scenarioFromFlat(entry: Record<string, unknown>, index = 0): Scenario {
  if (!isPlainObject(entry)) throw new InputError('configuration', entry, 'must be a mapping of key: value');
  const values: CheckedValues = {};
  const fields = new Map<SweepKey, FieldPath>();
  for (const [key, raw] of Object.entries(entry)) {
    if (raw === undefined) continue;
    const k = checkKey(key, key);
    fields.set(k, k);
    const v = checkValue(k, raw, k);
    if (k === 'router') values.router = routerChoices(v as RouterValue, k, false)[0];
    else (values as Record<string, unknown>)[k] = v;
  }
  return buildScenario(values, (k) => fields.get(k), index);
}

// ---- expansion ----

/** A checked value and where it was written. */
interface Item {
  value: unknown;
  field: FieldPath;
}

/**
 * One `configs` entry (or the implicit one) ready to expand: its fixed values (base overlaid by
 * the entry) and the axes it crosses (those whose key the entry does not set).
 */
interface EntryPlan {
  items: Map<SweepKey, Item>;
  /** Indices into Plan.axes. */
  axes: number[];
  /** The routers a fixed router value stands for (knob lists), when the router is not an axis here. */
  routers: RouterChoice[] | undefined;
}

interface Plan {
  entries: EntryPlan[];
  axes: { key: SweepKey; items: Item[] }[];
  count: number;
}

// Precedence, lowest first: defaults, base, axes, a configs entry. An entry that sets an axis key
// pins that axis for itself; base values of axis keys are never used.
function plan(spec: SweepSpec): Plan {
  const baseDir = spec.file ? dirname(spec.file) : '';
  const check = (key: SweepKey, raw: unknown, field: FieldPath): unknown => {
    const v = checkValue(key, raw, field);
    return key === 'router' ? prepareRouter(v as RouterValue, field) : resolvePath(key, v, baseDir);
  };
  const checkEntry = (e: SweepEntry, prefix: string): Map<SweepKey, Item> => {
    const out = new Map<SweepKey, Item>();
    for (const [key, raw] of Object.entries(e) as [SweepKey, unknown][]) {
      const field = `${prefix}.${key}`;
      out.set(key, { value: check(key, raw, field), field });
    }
    return out;
  };

  // Checked in file order (base, axes, configs), so the first error reported is the first written.
  const base = checkEntry(spec.base, 'base');
  const checkedAxes = spec.axes.map(({ key, values }) => ({
    key,
    items: values.map((raw, j): Item => {
      const field = `axes.${key}[${j}]`;
      return { value: check(key, raw, field), field };
    }),
  }));
  const entries: EntryPlan[] = (spec.configs ?? [{}]).map((c, i) => {
    const own = checkEntry(c, `configs[${i}]`);
    const axes = checkedAxes.flatMap((a, j) => (own.has(a.key) ? [] : [j]));
    const items = new Map<SweepKey, Item>();
    for (const [k, it] of base) if (!axes.some((j) => checkedAxes[j].key === k)) items.set(k, it);
    for (const [k, it] of own) items.set(k, it);
    return { items, axes, routers: undefined };
  });

  // Count before expanding knob lists: a few short lists can multiply into billions.
  const size = (a: { key: SweepKey; items: Item[] }) =>
    a.key === 'router' ? a.items.reduce((n, it) => n + (it.value as PreparedRouter).count, 0) : a.items.length;
  let count = 0;
  for (const e of entries) {
    const r = e.items.get('router');
    count += e.axes.reduce((n, j) => n * size(checkedAxes[j]), r ? (r.value as PreparedRouter).count : 1);
  }
  if (count > MAX_CONFIGURATIONS) {
    throw new InputError(
      'axes',
      count,
      `the sweep expands to more than ${MAX_CONFIGURATIONS.toLocaleString('en-US')} configurations; shrink the axes or split it into several sweep files`,
    );
  }

  const axes = checkedAxes.map(({ key, items }) => ({
    key,
    items:
      key === 'router'
        ? items.flatMap((it) => expandRouter(it.value as PreparedRouter).map((r): Item => ({ value: r, field: it.field })))
        : items,
  }));
  for (const e of entries) {
    const r = e.items.get('router');
    if (r) e.routers = expandRouter(r.value as PreparedRouter);
  }
  return { entries, axes, count };
}

function expand(spec: SweepSpec): Scenario[] {
  const { entries, axes: allAxes } = plan(spec);
  const models: ModelCache = new Map();
  const out: Scenario[] = [];
  for (const e of entries) {
    const axes = e.axes.map((j) => allAxes[j]);
    const pick = new Array<number>(axes.length).fill(0);
    for (const router of e.routers ?? [undefined]) {
      pick.fill(0);
      for (;;) {
        const values: CheckedValues = {};
        const fields = new Map<SweepKey, FieldPath>();
        for (const [key, item] of e.items) {
          if (key !== 'router') (values as Record<string, unknown>)[key] = item.value;
          fields.set(key, item.field);
        }
        if (router) values.router = router;
        axes.forEach((a, i) => {
          const item = a.items[pick[i]];
          if (a.key === 'router') values.router = item.value as RouterChoice;
          else (values as Record<string, unknown>)[a.key] = item.value;
          fields.set(a.key, item.field);
        });
        out.push(buildScenario(values, (k) => fields.get(k), out.length, models));
        // Odometer: the last axis varies fastest.
        let i = axes.length - 1;
        while (i >= 0 && ++pick[i] === axes[i].items.length) pick[i--] = 0;
        if (i < 0) break;
      }
    }
  }
  return out;
}

/** Relative trace and model-file paths in a sweep file are relative to the file's directory. */
function resolvePath(key: SweepKey, value: unknown, baseDir: string): unknown {
  if (!baseDir || typeof value !== 'string' || isAbsolute(value)) return value;
  if (key === 'trace' || (key === 'model' && /\.json$/i.test(value))) return join(baseDir, value);
  return value;
}
