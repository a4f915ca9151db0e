// The output side of `sweep` and `run`: check the output paths, fingerprint the sweep, decide the
// threads, simulate into the files and print the summary line.
import { sweepFingerprint } from '../config/fingerprint.ts';
import type { Scenario } from '../config/scenario.ts';
import { CpuEngine } from '../engine/cpu/cpuEngine.ts';
import type { Engine, RunResult } from '../engine/types.ts';
import { planOutputs, type NamedPath, type PlannedOutputs } from './outputPath.ts';
import { formatDuration, type ProgressBar } from './progressBar.ts';
import { installSignalCleanup } from './signals.ts';
import { simulateToFiles, type SimulationSummary } from './simulateToFiles.ts';

/** Results are printed as a table up to this many configurations. */
const TABLE_MAX = 60;

/** The files a set of configurations reads: trace files and model files. */
export function scenarioInputs(scenarios: readonly Scenario[]): NamedPath[] {
  const out = new Map<string, NamedPath>();
  for (const sc of scenarios) {
    const t = sc.workload.tracePath;
    if (t && !out.has(t)) out.set(t, { what: `the trace file of configuration ${sc.index}`, path: t });
    if (/\.json$/i.test(sc.model) && !out.has(sc.model)) out.set(sc.model, { what: `the model file of configuration ${sc.index}`, path: sc.model });
  }
  return [...out.values()];
}

/** Threads used and, when they differ from the request, why (for the summary line and the file metadata). */
export function threadsText(engine: Engine): { text: string; extra: Record<string, string> } {
  const info = engine.info;
  const n = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const plan = engine instanceof CpuEngine ? engine.lastPlan : undefined;
  if (!plan) return { text: n, extra: {} };
  const extra: Record<string, string> = {};
  if (plan.requested !== undefined) extra.threads_requested = String(plan.requested);
  if (plan.note) extra.threads_note = plan.note;
  return { text: plan.note ? `${n}: ${plan.note}` : n, extra };
}

export interface SweepRun {
  /** The sweep file (an input). */
  file: string;
  sweep: { name?: string; scenarios: readonly Scenario[] };
  /** The configurations to simulate (all, or one shard). */
  scenarios: readonly Scenario[];
  flags: { output: string; timeseries?: string; shard?: string; quiet?: boolean };
  log: (s: string) => void;
  version: string;
  /** Further metadata for every output (e.g. `slo`). */
  extra?: Record<string, string>;
  chooseEngine: () => Promise<Engine>;
  progress: ProgressBar;
  printTable: (results: RunResult[]) => void;
}

export async function runSweepToFiles(r: SweepRun): Promise<void> {
  installSignalCleanup();
  // Every output path is checked before the engine starts: a bad path fails now, not after the sweep.
  const outputs = planOutputs({ output: r.flags.output, timeseries: r.flags.timeseries }, [
    { what: 'the sweep file', path: r.file },
    ...scenarioInputs(r.sweep.scenarios),
  ]);
  if (r.flags.timeseries && !r.scenarios.some((s) => s.timeseries)) r.log('note: no configuration sets `timeseries: true`; no time series written');
  const fingerprint = sweepFingerprint(r.sweep.scenarios);
  const engine = await r.chooseEngine();
  let summary: SimulationSummary;
  try {
    if (engine instanceof CpuEngine) engine.plan(r.scenarios);
    const threads = threadsText(engine);
    summary = await simulateToFiles({
      scenarios: r.scenarios,
      engine,
      outputs,
      meta: {
        sweepName: r.sweep.name ?? r.file,
        version: r.version,
        shard: r.flags.shard,
        fingerprint,
        configurations: r.sweep.scenarios.length,
        extra: { ...r.extra, ...threads.extra },
      },
      progress: r.progress,
      log: r.log,
      keepUpTo: r.flags.quiet ? 0 : TABLE_MAX,
    });
  } finally {
    r.progress.finish();
    await engine.close();
  }
  if (!r.flags.quiet) {
    if (summary.kept.length > 0) r.printTable(summary.kept);
    r.log(summaryLine(summary, engine, outputs));
  }
}

/** `8 configurations in 00:01 (0.52 s wall, cpu engine, 2 threads): ... -> out.arrow` */
export function summaryLine(s: SimulationSummary, engine: Engine, outputs: PlannedOutputs): string {
  const secs = s.wallMs / 1000;
  const written = [outputs.results?.given, s.rows.timeseries > 0 ? outputs.timeseries?.given : undefined, s.rows.requests > 0 ? outputs.requests?.given : undefined].filter(Boolean);
  return (
    `${s.count} configuration${s.count === 1 ? '' : 's'} in ${formatDuration(secs)} (${secs.toFixed(2)} s wall, ` +
    `${engine.info.engine} engine, ${threadsText(engine).text}): ` +
    `${Math.round(s.simulatedRequests / secs).toLocaleString('en-US')} simulated requests/s, ` +
    `${Math.round(s.rankSteps / secs).toLocaleString('en-US')} rank-steps/s -> ${written.join(', ')}`
  );
}
