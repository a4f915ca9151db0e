// Router registry: name -> definition, and validation of router knobs.
// Definitions and provenance of every router: docs/routers.md.
import { InputError } from '../errors.ts';
import { br0 } from './br0.ts';
import { brh } from './brh.ts';
import { fastPhi } from './fastPhi.ts';
import { fastPhiGauss } from './fastPhiGauss.ts';
import { jsqLoad } from './jsqLoad.ts';
import { powerOfTwo } from './powerOfTwo.ts';
import { random } from './random.ts';
import { roundRobin } from './roundRobin.ts';
import type { KnobSpec, KnobValue, RouterDef, RouterParams } from './types.ts';
import { vllmDefault } from './vllmDefault.ts';
import { vllmInflight } from './vllmInflight.ts';

export const ROUTERS: Record<string, RouterDef> = Object.fromEntries(
  [roundRobin, random, powerOfTwo, vllmDefault, vllmInflight, jsqLoad, br0, brh, fastPhi, fastPhiGauss].map((r) => [r.name, r]),
);

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
 * out-of-range values are InputErrors naming `${field}.${knob}`. Numbers may be given as numeric
 * strings (command-line flags arrive that way); `true`/`false` are accepted for yes/no enums
 * (YAML 1.1 readers turn `yes` into true). Returns knobs in the router's declared order.
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

function checkKnob(k: KnobSpec, v: unknown, path: string): KnobValue {
  if (k.kind === 'enum') {
    const values = k.values ?? [];
    let s: unknown = v;
    if (typeof v === 'boolean' && values.includes('yes') && values.includes('no')) s = v ? 'yes' : 'no';
    if (typeof s !== 'string' || !values.includes(s)) {
      throw new InputError(path, v, `must be one of ${values.join(', ')}`);
    }
    return s;
  }
  // Numeric knobs may also take a few words (fast_phi K = full, br0 b = G).
  const words = k.values ?? [];
  if (typeof v === 'string' && words.includes(v.trim())) return v.trim();
  const what = `${k.kind === 'integer' ? 'an integer' : 'a number'}${words.length ? ` or ${words.join(', ')}` : ''}`;
  let x: number;
  if (typeof v === 'number') x = v;
  else if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v.trim()))) x = Number(v.trim());
  else throw new InputError(path, v, `must be ${what}`);
  if (!Number.isFinite(x)) throw new InputError(path, v, 'must be a finite number');
  if (k.kind === 'integer' && !Number.isInteger(x)) throw new InputError(path, v, `must be ${what}`);
  if ((k.min !== undefined && x < k.min) || (k.max !== undefined && x > k.max)) {
    throw new InputError(path, v, `must be in [${k.min ?? '-inf'}, ${k.max ?? 'inf'}]${words.length ? ` or ${words.join(', ')}` : ''}`);
  }
  return x;
}
