// `balanceroute capacity SWEEP --slo ...`: the largest request rate each configuration sustains
// under a latency SLO, paired across routers by seed. Search: src/capacity/search.ts.
import { loadSweepFile } from '../config/expand.ts';
import { readSweepFile } from '../config/sweepFile.ts';
import { InputError } from '../errors.ts';
import { readArrowFile } from '../formats/arrowRead.ts';
import { VERSION } from '../version.ts';
import { parseSlo } from '../capacity/slo.ts';
import { searchCapacity, type CapacityOptions } from '../capacity/search.ts';
import { searchRates, writeCapacity } from '../capacity/capacityFile.ts';
import { computeCapacityVerdict } from '../capacity/verdict.ts';
import { capacityRowsFromFile } from '../report/capacityData.ts';
import { numberFlag } from './parseFlags.ts';
import { planOutputs } from './outputPath.ts';
import { installSignalCleanup } from './signals.ts';
import { formatDuration } from './progressBar.ts';
import { chooseEngine, refuseGpuOnly } from '../engine/choose.ts';
import { scenarioInputs } from './sweepOutput.ts';
import { sweepFingerprint } from '../config/fingerprint.ts';

/** Arrival span at capacity, in mean E2E latencies, below which the summary warns. */
const STEADY_SPANS = 5;

export interface CapacityFlags {
  slo?: string;
  minRate?: string;
  maxRate?: string;
  tolerance?: string;
  window?: string;
  output: string;
  engine: 'cpu' | 'gpu' | 'auto';
  threads?: string;
  quiet?: boolean;
  /** commander's --no-early-stop: false turns the early stop off. */
  earlyStop?: boolean;
}

/** `1%`, `0.5%` or a fraction such as `0.01`; in (0, 0.5]. */
export function parseTolerance(raw: string | undefined): number {
  if (raw === undefined) return 0.01;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)\s*$/.exec(raw);
  if (!m) throw new InputError('tolerance', raw, 'expected a percentage such as 1% or a fraction such as 0.01');
  const v = Number(m[1]) / (m[2] ? 100 : 1);
  if (!(v > 0 && v <= 0.5)) throw new InputError('tolerance', raw, 'must be in (0, 50%]');
  return v;
}

/** `base` (default), `fixed`, or seconds of arrivals per evaluation. */
export function parseWindow(raw: string | undefined): CapacityOptions['window'] {
  if (raw === undefined || raw.trim() === 'base') return 'base';
  if (raw.trim() === 'fixed') return 'fixed';
  if (!/^\s*[0-9]+(\.[0-9]+)?\s*$/.test(raw)) throw new InputError('window', raw, 'expected seconds of arrivals (e.g. 300), base or fixed');
  const v = Number(raw);
  if (!(v > 0 && v <= 1e6)) throw new InputError('window', raw, 'must be in (0, 1e6] seconds');
  return v;
}

function rateFlag(field: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\s*[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\s*$/.test(raw)) throw new InputError(field, raw, 'must be a decimal number > 0');
  const v = numberFlag(field, raw)!;
  if (!(v > 0) || v > 1e6) throw new InputError(field, raw, 'must be in (0, 1e6] req/s');
  return v;
}

/** Check the flags and the sweep; returns the search options. Everything is checked before simulating. */
export function capacityOptions(file: string, flags: CapacityFlags): CapacityOptions {
  const slo = parseSlo(flags.slo);
  const minRate = rateFlag('min_rate', flags.minRate);
  const maxRate = rateFlag('max_rate', flags.maxRate);
  if (minRate !== undefined && maxRate !== undefined && minRate >= maxRate) {
    throw new InputError('min_rate', flags.minRate, `must be below --max-rate (${flags.maxRate})`);
  }
  const spec = readSweepFile(file).spec;
  const fixesRate = spec.axes.some((a) => a.key === 'rate') || (spec.configs ?? []).some((c) => Object.hasOwn(c, 'rate'));
  if (fixesRate) {
    throw new InputError('rate', `${file}`, 'the sweep varies `rate` (an axis or per-config rates); capacity searches the rate itself: remove it, keep at most a starting rate in `base`');
  }
  return { slo, minRate, maxRate, tolerance: parseTolerance(flags.tolerance), window: parseWindow(flags.window), earlyStop: flags.earlyStop !== false };
}

export async function capacityCommand(file: string, flags: CapacityFlags): Promise<void> {
  const log = (s: string) => {
    if (!flags.quiet) process.stderr.write(s + '\n');
  };
  installSignalCleanup();
  const opts = capacityOptions(file, flags);
  const sweep = loadSweepFile(file);
  // The output path is checked (and may not be an input) before anything is simulated.
  planOutputs({ output: flags.output }, [{ what: 'the sweep file', path: file }, ...scenarioInputs(sweep.scenarios)]);
  const configs = sweep.scenarios;
  const threads = numberFlag('threads', flags.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new InputError('threads', flags.threads, 'must be an integer >= 1');
  refuseGpuOnly(flags.engine, configs);
  const engine = await chooseEngine({ engine: flags.engine, threads, capAtCores: true }, log);
  const t0 = performance.now();
  let out;
  try {
    out = await searchCapacity(
      configs,
      (scs) => engine.run(scs),
      opts,
      (p) => log(`capacity: round ${p.round}: ${p.pending} of ${p.total} configuration${p.total === 1 ? '' : 's'} still searching, ${p.simulations} simulation${p.simulations === 1 ? '' : 's'} so far`),
    );
  } finally {
    await engine.close();
  }
  const wallMs = performance.now() - t0;
  const meta = { engine: engine.info, sweepName: sweep.name ?? file, wallMs, version: VERSION, fingerprint: sweepFingerprint(configs), configurations: configs.length };
  writeCapacity(flags.output, out.results, opts, meta, out);
  if (flags.quiet) return;
  const data = capacityRowsFromFile(readArrowFile(flags.output));
  const cells = computeCapacityVerdict(data.rows, { variantOrder: data.variants });
  const lines: string[] = [`SLO ${opts.slo.text}, tolerance ${(opts.tolerance * 100).toFixed(2).replace(/\.?0+$/, '')}%`];
  for (const c of cells) {
    lines.push(`${c.context ? c.context + ', ' : ''}DP ${c.dp}: ${c.summary}`);
    for (const v of c.variants) {
      const ci = v.capacity.lo !== null ? ` [${v.capacity.lo.toFixed(2)}, ${v.capacity.hi!.toFixed(2)}]` : '';
      const flagsText = [v.belowMin ? `${v.belowMin} seed${v.belowMin === 1 ? '' : 's'} below --min-rate` : '', v.atMax ? `${v.atMax} at --max-rate` : ''].filter(Boolean).join(', ');
      const gain = v.gainAbs ? `  gain ${v.gainAbs.mean >= 0 ? '+' : ''}${v.gainAbs.mean.toFixed(2)} req/s` + (v.gainRel ? ` (${v.gainRel.mean >= 0 ? '+' : ''}${(100 * v.gainRel.mean).toFixed(1)}%)` : '') : '';
      lines.push(`  ${v.variant.padEnd(24)} ${v.capacity.mean.toFixed(2).padStart(9)} req/s${ci}${gain}${flagsText ? '  (' + flagsText + ')' : ''}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  // A finite stream at a high rate is a burst, not a steady state: say so when the arrivals at
  // capacity span less than STEADY_SPANS mean end-to-end latencies.
  const short = out.results.filter((r) => r.capacity > 0 && r.metrics.requests / r.capacity < STEADY_SPANS * (r.metrics.e2e_mean_ms / 1000));
  if (short.length > 0) {
    const r = short[0];
    log(
      `warning: for ${short.length} of ${out.results.length} configurations the requests arrive within less than ${STEADY_SPANS} mean E2E latencies at capacity ` +
        `(e.g. config ${r.scenario.index}: ${r.metrics.requests} requests in ${(r.metrics.requests / r.capacity).toFixed(1)} s, E2E mean ${(r.metrics.e2e_mean_ms / 1000).toFixed(1)} s); ` +
        'the run may end before a steady state: raise `requests` in the sweep',
    );
  }
  const n = configs.length;
  const rates = searchRates(out, wallMs);
  log(
    `${n} configuration${n === 1 ? '' : 's'}: ${out.simulations} simulations in ${out.rounds} rounds` +
      (opts.earlyStop === false ? ' (early stop off)' : `, ${out.stoppedEarly} stopped early once their SLO miss was certain`) +
      `, ${formatDuration(wallMs / 1000)} (${(wallMs / 1000).toFixed(2)} s wall, ${engine.info.engine} engine) -> ${flags.output}`,
  );
  log(
    `search cost: ${out.simulations} simulations, ${rates.simulations_per_s} simulations/s, ` +
      `${out.simulatedRequests.toLocaleString('en-US')} simulated requests, ${Number(rates.simulated_requests_per_s).toLocaleString('en-US')} simulated requests/s`,
  );
}
