import { CpuEngine } from '../engine/cpu/cpuEngine.ts';
import { scenarioFromFlat } from '../config/expand.ts';
import { resultRow } from '../results/resultSchema.ts';
import type { RunResult } from '../engine/types.ts';
import { VERSION } from '../version.ts';
import { knobFlags } from './parseFlags.ts';
import { defaultOf, flagAttribute, flagKeys, flagValue } from '../config/schema.ts';
import { runOneToFiles } from './runOutput.ts';
import { defaultPrefillInstances } from '../engine/pd/simulatePd.ts';

/**
 * `run` flags as commander gives them: each configuration key's flag under its camelCase name
 * (`maxNumSeqs`), absent when not given, plus the command's own options.
 */
export interface RunFlags {
  [flag: string]: string | string[] | boolean | undefined;
  knob?: string[];
  json?: boolean;
  output?: string;
  timeseries?: string;
}

/**
 * Map `run` flags to the snake_case keys of a sweep entry. Only given flags appear: defaults
 * are the schema's, exactly as for a sweep file, and so is every rule (`--trace` with
 * `--workload azure_conv` is the same error as in a sweep).
 */
export function flagsToEntry(f: RunFlags): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  for (const k of flagKeys()) {
    const raw = f[flagAttribute(k)];
    if (k === 'router' || typeof raw !== 'string') continue;
    entry[k] = flagValue(k, raw);
  }
  const knobs = knobFlags(f.knob);
  if (typeof f.router === 'string' || Object.keys(knobs).length > 0) {
    entry.router = { name: typeof f.router === 'string' ? f.router : defaultOf('router')!.name, ...knobs };
  }
  if (f.timeseries !== undefined) entry.timeseries = true;
  return entry;
}

export async function runCommand(f: RunFlags): Promise<void> {
  const scenario = scenarioFromFlat(flagsToEntry(f));
  const result = await runOneToFiles(scenario, { output: f.output, timeseries: f.timeseries }, new CpuEngine({ threads: 1 }), VERSION);
  if (f.json) {
    process.stdout.write(JSON.stringify(resultRow(result.result, result.engine), null, 2) + '\n');
  } else {
    process.stdout.write(formatSummary(result.result) + '\n');
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
    `  scheduling ${m.async_scheduling ? 'async (one step ahead)' : 'synchronous'}  ranks per node ${s.ranksPerNode ?? 8}` +
      ((s.admission ?? 'none') === 'adp_balance' ? `  admission adp_balance (timeout ${s.adpTimeoutIters ?? 50} iters, batching wait ${s.adpBatchingWaitIters ?? 10} iters)` : ''),
    `  latency ms      mean      p50      p90      p95      p99`,
    ...(
      [
        // Client anchor: from arrival, plus the model's front-end terms (what vllm bench serve measures).
        ['TTFT', 'ttft'],
        ['TPOT', 'tpot'],
        ['E2E', 'e2e'],
        ['queue', 'queue'],
        // Engine anchor: from queued_us, the boundary at which the engine took the request (vLLM's engine timestamps).
        ['TTFT eng', 'ttft_engine'],
        ['E2E eng', 'e2e_engine'],
        ['q-time eng', 'request_queue_time'],
        ['prefill eng', 'request_prefill_time'],
      ] as const
    ).map(([label, k]) => {
      const g = (q: string) => fmt(m[`${k}_${q}_ms` as keyof typeof m] as number).padStart(8);
      return `  ${label.padEnd(11)}${g('mean')} ${g('p50')} ${g('p90')} ${g('p95')} ${g('p99')}`;
    }),
    `  (TTFT/TPOT/E2E/queue: client anchor, from arrival; "eng": engine anchor, from the step boundary that queued the request)`,
    `  balance    imbalance ${fmt(m.imbalance, 3)}  barrier idle ${fmt(m.idle_frac * 100, 1)}%  balance ratio ${fmt(m.balance_ratio, 3)}  token balance ratio ${fmt(m.token_balance_ratio, 3)}`,
    ...((s.topology ?? 'colocated') === 'pd'
      ? [
          `  pd         prefill instances ${s.prefillInstances ?? defaultPrefillInstances(s.dp)}  link ${s.kvLink ?? 'ib'}  prefill util ${fmt(m.prefill_util * 100, 1)}%  decode util ${fmt(m.decode_util * 100, 1)}%  KV transfer mean ${fmt(m.kv_transfer_mean_ms, 3)} ms  p95 ${fmt(m.kv_transfer_p95_ms, 3)} ms`,
          ...(r.pdTtftMs
            ? [
                `  pd TTFT ms prefill queue ${fmt(r.pdTtftMs.prefillQueue)} + prefill ${fmt(r.pdTtftMs.prefill)} + router wait ${fmt(r.pdTtftMs.routerWait)} + transfer ${fmt(r.pdTtftMs.transfer, 2)} + decode queue ${fmt(r.pdTtftMs.decodeQueue)} + first decode step ${fmt(r.pdTtftMs.firstDecodeStep)} (means)`,
              ]
            : []),
          `  (pd: balance and barrier idle are the decode group's; TTFT runs from arrival through prefill, transfer and the first decode step)`,
        ]
      : []),
    `  simulated in ${fmt(m.wall_ms, 1)} ms`,
  ];
  return lines.join('\n');
}
