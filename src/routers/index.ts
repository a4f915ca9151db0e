// Router registry: name -> definition, and validation of router knobs.
// Definitions and provenance of every router: docs/routers.md.
import { readdirSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { parseDecimal } from '../decimal.ts';
import { isRouterDef } from './common.ts';
import type { KnobSpec, KnobValue, RouterDef, RouterParams } from './types.ts';

/**
 * Every module of this folder, loaded once at start-up (a top-level await: importers see a full
 * registry). A router's module is found here rather than listed, so a new router is its own file
 * (and its WGSL port) and nothing else (docs/routers.md, "Adding a router"). Modules of the same
 * kind as this one: `.ts` from the sources (tsx, vitest), `.js` in the built package (dist/).
 * Router modules must not import this one: the registry awaits them (a depcruise rule).
 */
async function loadRouterModules(): Promise<Record<string, unknown>[]> {
  const self = new URL(import.meta.url);
  const ext = self.pathname.slice(self.pathname.lastIndexOf('.'));
  const me = self.pathname.slice(self.pathname.lastIndexOf('/') + 1);
  const files = readdirSync(new URL('./', self))
    .filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`) && f !== me)
    .sort();
  // @vite-ignore: vitest would otherwise warn that the names are known only at run time.
  return Promise.all(files.map((f) => import(/* @vite-ignore */ `./${f}`) as Promise<Record<string, unknown>>));
}

/** Routers in registry order: by `order`, then (routers without one) by name. */
function registryOrder(defs: RouterDef[]): RouterDef[] {
  const key = (d: RouterDef) => d.order ?? Infinity;
  return defs.sort((a, b) => key(a) - key(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The registry of these modules' exported router definitions; a repeated name or order is an Error. */
export function buildRegistry(modules: Record<string, unknown>[]): Record<string, RouterDef> {
  const defs = [...new Set(modules.flatMap((m) => Object.values(m).filter(isRouterDef)))];
  const out: Record<string, RouterDef> = {};
  const orders = new Map<number, string>();
  for (const d of registryOrder(defs)) {
    // Programming errors of a router module, not user input: fail at start-up, naming both.
    if (Object.hasOwn(out, d.name)) throw new Error(`two routers are named ${d.name} (src/routers/)`);
    if (d.order !== undefined) {
      const other = orders.get(d.order);
      if (other !== undefined) throw new Error(`routers ${other} and ${d.name} both have order ${d.order} (src/routers/)`);
      orders.set(d.order, d.name);
    }
    out[d.name] = d;
  }
  return out;
}

export const ROUTERS: Readonly<Record<string, RouterDef>> = buildRegistry(await loadRouterModules());

export function routerNames(): string[] {
  return Object.keys(ROUTERS);
}

/** Look a router up by name; unknown names are an InputError naming `field`. */
export function getRouter(name: string, field = 'router'): RouterDef {
  const r = Object.hasOwn(ROUTERS, name) ? ROUTERS[name] : undefined;
  if (!r) throw new InputError(field, name, `unknown router; known: ${routerNames().join(', ')}`);
  return r;
}

/**
 * Validate user-given knobs for a router and fill in defaults. Unknown knobs, wrong types and
 * out-of-range values are InputErrors naming `${field}.${knob}`. The rules come from the
 * router's own KnobSpec list (`knobSchema`), so a new knob needs no change outside its router.
 * Numbers may be given as decimal strings (command-line flags arrive that way); `true`/`false`
 * are accepted for yes/no enums (YAML 1.1 readers turn `yes` into true). Returns knobs in the
 * router's declared order.
 */
export function resolveRouterParams(name: string, given: Record<string, unknown> | null | undefined, field = 'router'): RouterParams {
  const def = getRouter(name, field);
  const src = given ?? {};
  if (typeof src !== 'object' || Array.isArray(src)) {
    throw new InputError(field, src, `knobs for ${name} must be a mapping of knob name to value`);
  }
  for (const key of Object.keys(src)) {
    if (!def.knobs.some((k) => k.name === key)) {
      const known = def.knobs.length ? def.knobs.map((k) => k.name).join(', ') : '(none)';
      throw new InputError(`${field}.${key}`, src[key], `unknown knob for ${name}; known: ${known}`);
    }
  }
  const out: Record<string, KnobValue> = {};
  for (const k of def.knobs) {
    const v = src[k.name];
    out[k.name] = v === undefined ? k.default : checkKnob(k, v, `${field}.${k.name}`);
  }
  return out;
}

const schemas = new WeakMap<KnobSpec, z.ZodType<KnobValue>>();

/** The zod schema of one knob, from its KnobSpec (cached). */
export function knobSchema(k: KnobSpec): z.ZodType<KnobValue> {
  let s = schemas.get(k);
  if (s) return s;
  if (k.kind === 'enum') {
    const values = k.values ?? [];
    const yesNo = values.includes('yes') && values.includes('no');
    const rule = `must be one of ${values.join(', ')}`;
    s = z.preprocess(
      (v) => (yesNo && typeof v === 'boolean' ? (v ? 'yes' : 'no') : v),
      z.string({ error: rule }).refine((v) => values.includes(v), { error: rule }),
    ) as z.ZodType<KnobValue>;
  } else {
    // A numeric knob may also take a few words (listed in `values`), e.g. a K of `full`.
    const words = k.values ?? [];
    const or = words.length ? ` or ${words.join(', ')}` : '';
    const what = `must be ${k.kind === 'integer' ? 'an integer' : 'a number'}${or}`;
    const range = `must be in [${k.min ?? '-inf'}, ${k.max ?? 'inf'}]${or}`;
    let n = z.number({ error: (iss) => (typeof iss.input === 'number' && !Number.isNaN(iss.input) ? 'must be a finite number' : what) });
    if (k.kind === 'integer') n = n.int({ error: what });
    if (k.min !== undefined) n = n.min(k.min, { error: range });
    if (k.max !== undefined) n = n.max(k.max, { error: range });
    s = z.unknown().transform((v, ctx): KnobValue => {
      if (typeof v === 'string' && words.includes(v.trim())) return v.trim();
      const r = n.safeParse(typeof v === 'string' ? (parseDecimal(v) ?? v) : v);
      if (r.success) return r.data;
      ctx.issues.push({ code: 'custom', message: r.error.issues[0].message, input: v });
      return z.NEVER;
    });
  }
  schemas.set(k, s);
  return s;
}

function checkKnob(k: KnobSpec, v: unknown, path: string): KnobValue {
  const r = knobSchema(k).safeParse(v);
  if (!r.success) throw new InputError(path, v, r.error.issues[0].message);
  return r.data;
}
