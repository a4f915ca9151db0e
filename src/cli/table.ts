import type { RunResult } from '../engine/types.ts';

/**
 * A compact fixed-width table of result rows for the terminal. TTFT and E2E are client-anchored
 * (from arrival); "eng" is the engine anchor (from the boundary that queued the request).
 */
export function formatTable(results: readonly RunResult[]): string {
  const header = ['#', 'router', 'dp', 'rate', 'seed', 'done', 'fail', 'tok/s', 'TTFT p95', 'TTFT eng p95', 'TPOT mean', 'E2E p95', 'imbal', 'idle%'];
  const rows = results.map((r) => {
    const m = r.metrics;
    const s = r.scenario;
    return [
      String(s.index),
      s.router,
      String(s.dp),
      String(s.workload.rate),
      String(s.workload.seed),
      String(m.completed),
      String(m.failed),
      m.throughput_tok_s.toFixed(1),
      fmtMs(m.ttft_p95_ms),
      fmtMs(m.ttft_engine_p95_ms),
      fmtMs(m.tpot_mean_ms),
      fmtMs(m.e2e_p95_ms),
      m.imbalance.toFixed(3),
      (m.idle_frac * 100).toFixed(1),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i <= 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line), '(TTFT, E2E: client anchor, from arrival; TTFT eng: engine anchor, from the step boundary that queued the request)'].join('\n');
}

function fmtMs(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : '-';
}
