import { CpuEngine } from '../engine/cpu/cpuEngine.ts';
import { scenarioFromFlat } from '../config/expand.ts';
import { InputError } from '../errors.ts';
import { writeResults, writeTimeSeries } from '../io/arrowWrite.ts';
import { resultRow } from '../io/resultSchema.ts';
import type { RunResult } from '../engine/types.ts';
import { VERSION } from '../version.ts';
import { knobFlags, numberFlag } from './parseFlags.ts';
import { prepareOutputDir } from './outputPath.ts';

export interface RunFlags {
  router: string;
  knob?: string[];
  dp: string;
  rate?: string;
  requests?: string;
  seed: string;
  workload: string;
  trace?: string;
  traceColumns?: string;
  traceTimeUnit?: string;
  traceWindow?: string;
  arrival: string;
  cv: string;
  maxOutput: string;
  model: string;
  maxNumSeqs: string;
  kvCapacity?: string;
  blockSize: string;
  maxBatchedTokens: string;
  maxModelLen?: string;
  statsIntervalMs: string;
  dispatch: string;
  assignOrder: string;
  sync: string;
  timeoutS: string;
  json?: boolean;
  output?: string;
  timeseries?: string;
}

/** Map `run` flags to the snake_case keys of a sweep entry. */
export function flagsToEntry(f: RunFlags): Record<string, unknown> {
  const isTrace = f.trace !== undefined;
  const entry: Record<string, unknown> = {
    router: { name: f.router, ...knobFlags(f.knob) },
    dp: numberFlag('dp', f.dp),
    seed: numberFlag('seed', f.seed),
    workload: isTrace ? 'trace' : f.workload,
    arrival: f.arrival,
    cv: numberFlag('cv', f.cv),
    max_output: numberFlag('max_output', f.maxOutput),
    model: f.model,
    max_num_seqs: numberFlag('max_num_seqs', f.maxNumSeqs),
    block_size: numberFlag('block_size', f.blockSize),
    max_batched_tokens: numberFlag('max_batched_tokens', f.maxBatchedTokens),
    stats_interval_ms: numberFlag('stats_interval_ms', f.statsIntervalMs),
    dispatch: f.dispatch,
    assign_order: f.assignOrder,
    sync: f.sync,
    timeout_s: numberFlag('timeout_s', f.timeoutS),
    timeseries: f.timeseries !== undefined,
  };
  entry.rate = numberFlag('rate', f.rate) ?? (isTrace ? 0 : 3);
  entry.requests = numberFlag('requests', f.requests) ?? (isTrace ? 0 : 500);
  if (isTrace) {
    entry.trace = f.trace;
    if (f.traceColumns !== undefined) {
      const cols = f.traceColumns.split(',').map((s) => s.trim());
      if (cols.length !== 3 || cols.some((c) => c === '')) {
        throw new InputError('trace_columns', f.traceColumns, 'expected three names: arrival,prompt,output');
      }
      entry.trace_columns = { arrival: cols[0], prompt: cols[1], output: cols[2] };
    }
    if (f.traceTimeUnit !== undefined) entry.trace_time_unit = f.traceTimeUnit;
    if (f.traceWindow !== undefined) {
      const parts = f.traceWindow.split(',').map((s) => s.trim());
      if (parts.length > 2 || parts[0] === '') {
        throw new InputError('trace_window', f.traceWindow, 'expected START_S,END_S (seconds from the first row; END_S may be left out)');
      }
      const start = numberFlag('trace_window.start_s', parts[0]);
      const end = parts[1] === undefined || parts[1] === '' ? undefined : numberFlag('trace_window.end_s', parts[1]);
      entry.trace_window = end === undefined ? { start_s: start } : { start_s: start, end_s: end };
    }
  }
  if (f.kvCapacity !== undefined) entry.kv_capacity = numberFlag('kv_capacity', f.kvCapacity);
  if (f.maxModelLen !== undefined) entry.max_model_len = numberFlag('max_model_len', f.maxModelLen);
  return entry;
}

export async function runCommand(f: RunFlags): Promise<void> {
  const scenario = scenarioFromFlat(flagsToEntry(f));
  prepareOutputDir(f.output, 'output');
  prepareOutputDir(f.timeseries, 'timeseries');
  const engine = new CpuEngine({ threads: 1 });
  let results: RunResult[];
  const t0 = performance.now();
  try {
    results = await engine.run([scenario]);
  } finally {
    await engine.close();
  }
  const wallMs = performance.now() - t0;
  const meta = { engine: engine.info, sweepName: 'run', wallMs, version: VERSION };
  if (f.output) await writeResults(f.output, results, meta);
  if (f.timeseries) await writeTimeSeries(f.timeseries, results, meta);
  const row = resultRow(results[0], engine.info);
  if (f.json) {
    process.stdout.write(JSON.stringify(row, null, 2) + '\n');
  } else {
    process.stdout.write(formatSummary(results[0]) + '\n');
  }
}

function fmt(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** A readable summary of one run. */
export function formatSummary(r: RunResult): string {
  const s = r.scenario;
  const m = r.metrics;
  const knobs = Object.entries(s.routerParams).map(([k, v]) => `${k}=${v}`).join(' ');
  const lines = [
    `router ${s.router}${knobs ? ` (${knobs})` : ''}  dp ${s.dp}  ` +
      (s.workload.source === 'trace'
        ? `trace ${s.workload.tracePath}  ${s.workload.rate > 0 ? `rescaled to ${s.workload.rate} req/s` : 'at its own timing'}`
        : `workload ${s.workload.source}  rate ${s.workload.rate} req/s  seed ${s.workload.seed}`) +
      `  model ${s.model}`,
    `  requests   ${m.requests}  completed ${m.completed}  failed ${m.failed} (rejected ${m.failed_rejected}, timeout ${m.failed_timeout})  preemptions ${m.preempted}`,
    `  throughput ${fmt(m.throughput_tok_s)} tok/s  ${fmt(m.req_per_s, 3)} req/s  makespan ${fmt(m.makespan_s, 2)} s  steps ${m.steps}`,
    `  latency ms     mean      p50      p90      p95      p99`,
    ...(
      [
        ['TTFT', 'ttft'],
        ['TPOT', 'tpot'],
        ['E2E', 'e2e'],
        ['queue', 'queue'],
      ] as const
    ).map(([label, k]) => {
      const g = (q: string) => fmt(m[`${k}_${q}_ms` as keyof typeof m] as number).padStart(8);
      return `  ${label.padEnd(10)}${g('mean')} ${g('p50')} ${g('p90')} ${g('p95')} ${g('p99')}`;
    }),
    `  balance    imbalance ${fmt(m.imbalance, 3)}  barrier idle ${fmt(m.idle_frac * 100, 1)}%  balance ratio ${fmt(m.balance_ratio, 3)}`,
    `  simulated in ${fmt(m.wall_ms, 1)} ms`,
  ];
  return lines.join('\n');
}
