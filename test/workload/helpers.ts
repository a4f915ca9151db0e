// Shared helpers for the workload tests: where the public data lives, temp files, error checks.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkloadSpec } from '../../src/workload/types.ts';

/** The public traces the tests replay (test/fixtures/data, see its ATTRIBUTION.md). */
export const DATA_DIR = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
export const CONV = join(DATA_DIR, 'azure-llm-2023/conv.csv');
export const CODE = join(DATA_DIR, 'azure-llm-2023/code.csv');
export const SHAREGPT = join(DATA_DIR, 'qwen3-30b-a3b-rtxpro6000/sharegpt-300-sps10.csv');

export const BASE: WorkloadSpec = { source: 'sharegpt', arrival: 'poisson', cv: 1, rate: 3, requests: 500, seed: 1, maxOutput: 1024 };

let dir: string | undefined;
/** Write a temp file and return its path. */
export function tempFile(name: string, content: string): string {
  dir ??= mkdtempSync(join(tmpdir(), 'balanceroute-wl-'));
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Remove the temp files written by tempFile (call from afterAll). */
export function removeTempFiles(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

export { expectInputError } from '../inputError.ts';

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

export function cv(a: ArrayLike<number>): number {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) ** 2;
  return Math.sqrt(s / a.length) / m;
}

export function median(a: ArrayLike<number>): number {
  const s = Float64Array.from(a).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export function gaps(t: Float64Array): Float64Array {
  const g = new Float64Array(t.length - 1);
  for (let i = 1; i < t.length; i++) g[i - 1] = t[i] - t[i - 1];
  return g;
}
