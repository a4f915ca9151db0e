// A sweep's fingerprint: a hash of its expanded definition, stored in every file the sweep
// writes (results, time series, request logs, each shard), so that files of different sweeps
// are never joined by mistake (`merge`, `report --results`).
import { createHash } from 'node:crypto';
import type { Scenario } from './scenario.ts';

/** Metadata key of the fingerprint in every output file. */
export const FINGERPRINT_KEY = 'sweep_fingerprint';

/**
 * sha256 over the canonical JSON (keys sorted, undefined dropped) of every configuration of the
 * whole sweep, in expansion order; the first 16 hex digits. Two sweep files that expand to the
 * same configurations (whatever their layout, comments or key order) share a fingerprint; a
 * shard's files carry the fingerprint of the whole sweep, so all shards of one sweep agree.
 * File paths (traces, model files) are part of the definition as resolved.
 */
export function sweepFingerprint(scenarios: Iterable<Scenario>): string {
  const list = [...scenarios];
  // JSON.stringify with an array of property names writes, at every level, exactly those
  // properties in that order: the sorted union of all names gives canonical JSON at native speed.
  const names = new Set<string>();
  const seen = new WeakSet<object>();
  const collect = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) for (const x of v) collect(x);
    else if (!ArrayBuffer.isView(v)) for (const [k, x] of Object.entries(v)) {
      names.add(k);
      collect(x);
    }
  };
  for (const sc of list) collect(sc);
  const order = [...names].sort();
  const h = createHash('sha256');
  h.update('balanceroute-sweep/1\n');
  for (const sc of list) h.update(JSON.stringify(sc, order) + '\n');
  return h.digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every level; undefined values and functions left out. */
export function canonicalJson(v: unknown): string {
  return canonical(v, new WeakMap());
}

// Configurations of one sweep share many sub-objects (router knobs, length distributions): each
// is serialised once per fingerprint (memo by identity).
function canonical(v: unknown, memo: WeakMap<object, string>): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  const known = memo.get(v);
  if (known !== undefined) return known;
  let out: string;
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (const x of v) parts.push(x === undefined || typeof x === 'function' ? 'null' : canonical(x, memo));
    out = `[${parts.join(',')}]`;
  } else if (ArrayBuffer.isView(v)) {
    out = JSON.stringify(Array.from(v as unknown as ArrayLike<number>));
  } else {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    out = '{';
    let first = true;
    for (const k of keys) {
      const x = o[k];
      if (x === undefined || typeof x === 'function') continue;
      out += `${first ? '' : ','}${JSON.stringify(k)}:${canonical(x, memo)}`;
      first = false;
    }
    out += '}';
  }
  memo.set(v, out);
  return out;
}
