// A router value with knob lists ({name: br0, b: [4, 8]}) stands for several routers, one per
// combination of knob values; this module expands and resolves them.
import { InputError } from './inputError.ts';
import type { FieldPath } from './sweepSchema.ts';
import type { RouterValue } from './validate.ts';
import { resolveRouterParams } from '../routers/index.ts';
import type { RouterParams } from '../routers/types.ts';

/** One concrete router: its name and fully resolved knobs (defaults filled in). */
export interface RouterChoice {
  name: string;
  params: RouterParams;
  field: FieldPath;
}

/** Number of routers a value stands for (product of its knob-list lengths). */
export function routerChoiceCount(r: RouterValue): number {
  let n = 1;
  for (const v of Object.values(r.knobs)) if (Array.isArray(v)) n *= v.length;
  return n;
}

/**
 * Expand knob lists (in the order the knobs are written; the last varies fastest) and resolve
 * each combination. With `allowLists` false, a list is an error (a single run takes one value).
 */
export function routerChoices(r: RouterValue, field: FieldPath, allowLists = true): RouterChoice[] {
  const scalars: Record<string, unknown> = {};
  const lists: [string, unknown[]][] = [];
  for (const [knob, v] of Object.entries(r.knobs)) {
    if (!Array.isArray(v)) {
      scalars[knob] = v;
      continue;
    }
    if (!allowLists) throw new InputError(`${field}.${knob}`, v, 'one configuration takes one value per knob; lists go in a sweep file');
    if (v.length === 0) throw new InputError(`${field}.${knob}`, v, 'empty list: give at least one value');
    lists.push([knob, v]);
  }
  // Resolve once without the lists (checks scalar knobs and unknown names), then each list
  // element on its own, so an error points at the element (`router[2].b[1]`).
  const baseParams = resolveRouterParams(r.name, scalars, field);
  const resolvedLists = lists.map(([knob, values]) => {
    const known = Object.hasOwn(baseParams, knob);
    return values.map((v, j) => {
      try {
        return resolveRouterParams(r.name, { [knob]: v }, field)[knob];
      } catch (e) {
        if (known && e instanceof InputError && e.field === `${field}.${knob}`) throw relocate(e, `${field}.${knob}[${j}]`);
        throw e;
      }
    });
  });
  if (lists.length === 0) return [{ name: r.name, params: baseParams, field }];

  const out: RouterChoice[] = [];
  const pick = new Array<number>(lists.length).fill(0);
  for (;;) {
    const over: Record<string, unknown> = {};
    lists.forEach(([knob], i) => (over[knob] = resolvedLists[i][pick[i]]));
    // Re-resolve so the knobs keep the router's declared order.
    out.push({ name: r.name, params: resolveRouterParams(r.name, { ...scalars, ...over }, field), field });
    let i = lists.length - 1;
    while (i >= 0 && ++pick[i] === lists[i][1].length) pick[i--] = 0;
    if (i < 0) return out;
  }
}

/** The same error, reported for a more precise field (message format of InputError kept). */
export function relocate(e: InputError, field: FieldPath): InputError {
  const moved = new InputError(field, e.value, '');
  moved.message = e.message.startsWith(`${e.field}: `) ? `${field}: ${e.message.slice(e.field.length + 2)}` : e.message;
  return moved;
}
