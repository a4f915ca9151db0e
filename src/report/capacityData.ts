// Capacity rows for the verdict, from a capacity file or from a sweep result file that spans rates.
// Labelling (router variant, context) is the sweep report's own (sweepData), so a router variant
// and the "other axes" read the same in both reports.
import type { ArrowFileData } from '../formats/arrowRead.ts';
import { InputError } from '../errors.ts';
import { CAPACITY_COLUMNS, CAPACITY_FORMAT } from '../capacity/capacityFile.ts';
import { meetsSlo, type Slo } from '../capacity/slo.ts';
import type { RunMetrics } from '../metrics/types.ts';
import { sweepData } from './sweepData.ts';
import type { CapacityInputRow } from '../capacity/verdict.ts';

export function isCapacityFile(file: ArrowFileData): boolean {
  return file.metadata.format === CAPACITY_FORMAT || file.columns.some((c) => c.name === 'capacity_req_s');
}

/** A view of a capacity file with the per-row rate fixed and the capacity columns hidden. */
function asSweep(file: ArrowFileData): ArrowFileData {
  const hidden = new Set<string>(CAPACITY_COLUMNS);
  const n = file.numRows;
  return {
    ...file,
    columns: file.columns.filter((c) => !hidden.has(c.name)),
    column: (name: string) => (name === 'rate' ? new Array<number>(n).fill(0) : file.column(name)),
  };
}

/** Rows of a capacity file, labelled. */
export function capacityRowsFromFile(file: ArrowFileData): { rows: CapacityInputRow[]; variants: string[]; contexts: string[]; slo: string } {
  const data = sweepData(asSweep(file));
  const cap = file.column('capacity_req_s');
  const status = file.column('capacity_status');
  const rows = data.rows.map((r): CapacityInputRow => {
    const c = cap[r.row];
    if (typeof c !== 'number' || !Number.isFinite(c)) throw new InputError('file', file.path, `column capacity_req_s, row ${r.row}: expected a number, found ${JSON.stringify(c)}`);
    return { variant: r.variant, router: r.router, context: r.context, dp: r.dp, seed: r.seed, capacity: c, status: String(status[r.row] ?? 'ok') };
  });
  return { rows, variants: data.variants, contexts: data.contexts, slo: file.metadata.slo ?? '' };
}

/**
 * Capacity from a sweep that spans rates: per (variant, context, dp, seed), the largest swept rate
 * at and below which every swept rate met the SLO (0 when the lowest fails). Coarser than
 * `capacity` (it can only name a swept rate), but from the same rows the sweep report reads.
 */
export function capacityRowsFromSweep(file: ArrowFileData, slo: Slo): { rows: CapacityInputRow[]; variants: string[]; rates: number[] } {
  const data = sweepData(file);
  const cols = new Map<string, unknown[]>();
  const metricsOf = (row: number): RunMetrics => {
    const m: Record<string, number> = {};
    for (const name of ['requests', 'failed', ...slo.bounds.map((b) => b.metric).filter((x) => x !== 'failed_frac')]) {
      if (!cols.has(name)) cols.set(name, file.column(name));
      const v = cols.get(name)![row];
      m[name] = typeof v === 'number' ? v : NaN;
    }
    return m as unknown as RunMetrics;
  };
  const groups = new Map<string, { key: CapacityInputRow; points: { rate: number; ok: boolean }[] }>();
  for (const r of data.rows) {
    const k = JSON.stringify([r.variant, r.context, r.dp, r.seed]);
    let g = groups.get(k);
    if (!g) {
      g = { key: { variant: r.variant, router: r.router, context: r.context, dp: r.dp, seed: r.seed, capacity: 0, status: 'ok' }, points: [] };
      groups.set(k, g);
    }
    g.points.push({ rate: r.rate, ok: meetsSlo(metricsOf(r.row), slo) });
  }
  const rows: CapacityInputRow[] = [];
  for (const g of groups.values()) {
    const pts = g.points.sort((a, b) => a.rate - b.rate);
    let k = 0;
    while (k < pts.length && pts[k].ok) k++;
    rows.push({ ...g.key, capacity: k === 0 ? 0 : pts[k - 1].rate, status: k === 0 ? 'below_min' : k === pts.length ? 'at_max' : 'ok' });
  }
  return { rows, variants: data.variants, rates: data.rates };
}
