/**
 * Shared by `npm run bench:gpu` (benches/gpu-batch.ts) and `npm run bench:gpu-layout`
 * (benches/gpu-layout.ts): their configurations — a batch of N is the first N of one fixed
 * sequence, the four routers of the case harness × DP 2, 4, 8, 16 × two loads per rank, then the
 * next seed, so every batch of 32 or more has the same mix — and the GPU engine's per-chunk trace.
 */
import { benchScenario } from '../src/bench/harness.ts';
import type { Scenario } from '../src/config/scenario.ts';

export const ROUTERS = ['vllm_default', 'jsq_load', 'br0', 'fast_phi'];
export const DPS = [2, 4, 8, 16];
/** Offered load per rank, req/s (3 req/s at DP 8, the harness's light load, and twice that). */
export const PER_RANK_RATES = [0.375, 0.75];

/** Configuration i of the fixed sequence (`rates`: the loads per rank it cycles through). */
export function batchConfig(i: number, requests: number, rates: readonly number[] = PER_RANK_RATES): Scenario {
  const router = ROUTERS[i % ROUTERS.length];
  const dp = DPS[Math.floor(i / ROUTERS.length) % DPS.length];
  const perRank = rates[Math.floor(i / (ROUTERS.length * DPS.length)) % rates.length];
  const seed = 1 + Math.floor(i / (ROUTERS.length * DPS.length * rates.length));
  return benchScenario({ router, dp, rate: perRank * dp, requests, seed }, i);
}

/** The first n configurations of the sequence, each with `requests` requests. */
export function batchOf(n: number, requests: number, rates: readonly number[] = PER_RANK_RATES): Scenario[] {
  return Array.from({ length: n }, (_, i) => batchConfig(i, requests, rates));
}

/** One chunk of a GPU engine run, from its trace line (`trace: true`, chunkLoop.ts). */
export interface ChunkTrace {
  readyMs: number;
  simulateMs: number;
  roundTrips: number;
  iterations: number;
}

/** The GPU engine's per-chunk trace line, parsed (null for other lines); throws on a chunk line it cannot read. */
export function parseTrace(line: string): ChunkTrace | null {
  if (!line.startsWith('gpu: chunk ')) return null;
  const m = /ready in (\d+) ms, simulated in (\d+) ms \((\d+) round trips, (\d+) loop iterations/.exec(line);
  if (!m) throw new Error(`cannot read the GPU engine's trace line: ${line}`);
  return { readyMs: +m[1], simulateMs: +m[2], roundTrips: +m[3], iterations: +m[4] };
}
