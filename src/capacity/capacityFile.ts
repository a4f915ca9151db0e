// The capacity file: one row per searched configuration (every sweep key but the rate), with the
// result columns of a sweep measured AT the capacity (so `rate` = the capacity, or the lowest rate
// tried when the SLO never held) and the capacity columns. docs/output.md lists them.
import type { Table } from 'apache-arrow';
import type { RunResult } from '../engine/types.ts';
import { makeTable, type ColumnData } from '../formats/arrowTable.ts';
import { schemaMetadata, writeTable, type WriteMeta } from '../results/arrowWrite.ts';
import { cell, resultColumns } from '../results/resultSchema.ts';
import type { CapacityOptions, CapacityResult, SearchTotals } from './search.ts';

/** Identifies capacity files in the schema metadata (`format` key). */
export const CAPACITY_FORMAT = 'balanceroute-capacity/1';

/** Capacity columns, appended after the result columns. */
export const CAPACITY_COLUMNS = ['capacity_req_s', 'capacity_status', 'capacity_lo_req_s', 'capacity_hi_req_s', 'capacity_simulations'] as const;

export function capacityTable(results: readonly CapacityResult[], opts: CapacityOptions, meta: WriteMeta, totals: SearchTotals): Table {
  const runs: RunResult[] = results.map((r) => ({ scenario: r.scenario, metrics: r.metrics }));
  const columns: ColumnData[] = resultColumns(runs).map((c) => ({
    name: c.name,
    kind: c.kind,
    values: runs.map((r) => cell(c, r, meta.engine)),
    metadata: c.unit ? { unit: c.unit } : undefined,
  }));
  columns.push(
    { name: 'capacity_req_s', kind: 'float64', values: Float64Array.from(results, (r) => r.capacity), metadata: { unit: 'req/s' } },
    { name: 'capacity_status', kind: 'dictionary', values: results.map((r) => r.status) },
    { name: 'capacity_lo_req_s', kind: 'float64', values: results.map((r) => r.lo), metadata: { unit: 'req/s' } },
    { name: 'capacity_hi_req_s', kind: 'float64', values: results.map((r) => r.hi), metadata: { unit: 'req/s' } },
    { name: 'capacity_simulations', kind: 'int32', values: Int32Array.from(results, (r) => r.simulations) },
  );
  const extra: Record<string, string> = {
    slo: opts.slo.text,
    tolerance: String(opts.tolerance),
    window: String(opts.window),
    simulations: String(totals.simulations),
    rounds: String(totals.rounds),
    early_stop: String(opts.earlyStop !== false),
    stopped_early: String(totals.stoppedEarly),
    simulated_requests: String(totals.simulatedRequests),
    ...searchRates(totals, meta.wallMs),
  };
  if (opts.minRate !== undefined) extra.min_rate = String(opts.minRate);
  if (opts.maxRate !== undefined) extra.max_rate = String(opts.maxRate);
  return makeTable(columns, { ...schemaMetadata({ ...meta, extra: { ...meta.extra, ...extra } }, CAPACITY_FORMAT) });
}

/** simulations/s and simulated requests/s over the search's wall time (timing metadata). */
export function searchRates(totals: SearchTotals, wallMs: number): { simulations_per_s: string; simulated_requests_per_s: string } {
  const s = Math.max(wallMs, 1e-3) / 1000;
  return { simulations_per_s: (totals.simulations / s).toFixed(2), simulated_requests_per_s: (totals.simulatedRequests / s).toFixed(0) };
}

export function writeCapacity(path: string, results: readonly CapacityResult[], opts: CapacityOptions, meta: WriteMeta, totals: SearchTotals): void {
  writeTable(path, capacityTable(results, opts, meta, totals), 'output');
}
