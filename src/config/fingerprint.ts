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
  const h = createHash('sha256');
  h.update('balanceroute-sweep/1\n');
  for (const sc of scenarios) h.update(canonicalJson(sc) + '\n');
  return h.digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every level; undefined values and functions left out. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (ArrayBuffer.isView(v)) return canonicalJson(Array.from(v as unknown as ArrayLike<number>));
  const entries = Object.keys(v)
    .sort()
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined && typeof (v as Record<string, unknown>)[k] !== 'function')
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}
