// A router value with knob lists ({name: br0, b: [4, 8]}) stands for several routers, one per
// combination of knob values; this module expands and resolves them.
import { InputError } from '../errors.ts';
import type { FieldPath } from './sweepSchema.ts';
import type { RouterValue } from './schema.ts';
import { resolveRouterParams } from '../routers/index.ts';
import type { RouterParams } from '../routers/types.ts';

/** One concrete router: its name and fully resolved knobs (defaults filled in). */
export interface RouterChoice {
  name: string;
  params: RouterParams;
  field: FieldPath;
}

/** A router value whose knobs are all checked, knob lists not yet expanded. */
export interface PreparedRouter {
  name: string;
  field: FieldPath;
  scalars: Record<string, unknown>;
  /** Knob lists in written order, each element already resolved. */
  lists: [string, unknown[]][];
  /** Number of routers this value stands for (product of the list lengths). */
  count: number;
}

/**
 * Check every knob (each list element on its own, so an error points at `router[2].b[1]`)
 * without expanding the lists. With `allowLists` false a list is an error (one run, one value).
 */
export function prepareRouter(r: RouterValue, field: FieldPath, allowLists = true): PreparedRouter {
  const scalars: Record<string, unknown> = {};
  const rawLists: [string, unknown[]][] = [];
  for (const [knob, v] of Object.entries(r.knobs)) {
    if (!Array.isArray(v)) {
      scalars[knob] = v;
      continue;
    }
    if (!allowLists) throw new InputError(`${field}.${knob}`, v, 'one configuration takes one value per knob; lists go in a sweep file');
    if (v.length === 0) throw new InputError(`${field}.${knob}`, v, 'empty list: give at least one value');
    rawLists.push([knob, v]);
  }
  const baseParams = resolveRouterParams(r.name, scalars, field);
  const lists = rawLists.map(([knob, values]): [string, unknown[]] => {
    const declared = Object.hasOwn(baseParams, knob);
    const resolved = values.map((v, j) => {
      try {
        return resolveRouterParams(r.name, { [knob]: v }, field)[knob];
      } catch (e) {
        if (declared && e instanceof InputError && e.field === `${field}.${knob}`) throw e.at(`${field}.${knob}[${j}]`);
        throw e;
      }
    });
    return [knob, resolved];
  });
  return { name: r.name, field, scalars, lists, count: lists.reduce((n, [, v]) => n * v.length, 1) };
}

/** Expand knob lists in the order the knobs are written, the last varying fastest. */
export function expandRouter(p: PreparedRouter): RouterChoice[] {
  const out: RouterChoice[] = [];
  const pick = new Array<number>(p.lists.length).fill(0);
  for (;;) {
    const over: Record<string, unknown> = { ...p.scalars };
    p.lists.forEach(([knob, values], i) => (over[knob] = values[pick[i]]));
    // Resolved again so the knobs keep the router's declared order and defaults.
    out.push({ name: p.name, params: resolveRouterParams(p.name, over, p.field), field: p.field });
    let i = p.lists.length - 1;
    while (i >= 0 && ++pick[i] === p.lists[i][1].length) pick[i--] = 0;
    if (i < 0) return out;
  }
}

/** Check and expand a router value. */
export function routerChoices(r: RouterValue, field: FieldPath, allowLists = true): RouterChoice[] {
  return expandRouter(prepareRouter(r, field, allowLists));
}
