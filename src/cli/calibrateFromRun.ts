/**
 * `balanceroute calibrate --from-run LOG [--from-run LOG2 ...] --model BASE -o model.json`: fit
 * the host terms of the step model to measured runs and write the base model plus the fitted
 * terms (docs/calibration.md). The deployment of each run (DP size, limits, KV cache, async
 * scheduling, the emulator's speed) comes from the flags, else from what the log records; the
 * DP size and the base model are never guessed.
 */
import { writeFileSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { checkDistinct, checkOutputPath, writeFileAtomic } from '../formats/outputFile.ts';
import { modelFromSpec } from '../model/presets.ts';
import { fitHostTerms, HOST_TERMS, scenarioForRun, type ComponentResidual, type DeploymentOverrides, type HostTermName, type RunToFit } from '../calibrate/fromRun.ts';
import { readMeasuredRun } from '../calibrate/measuredRun.ts';

export interface FromRunFlags {
  output: string;
  fromRun: string[];
  model?: string;
  dp?: string;
  fit?: string;
  speed?: string;
  seed?: string;
  router?: string;
  maxNumSeqs?: string;
  maxBatchedTokens?: string;
  kvCapacity?: string;
  ranksPerNode?: string;
  asyncScheduling?: string;
  name?: string;
  json?: boolean;
}

function positive(field: string, raw: string | undefined, int: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v <= 0 || (int && !Number.isInteger(v))) {
    throw new InputError(field, raw, int ? 'must be a whole number >= 1' : 'must be a number > 0');
  }
  return v;
}

/** `--dp 2` for every run, or `--dp 1,2` one per run. */
function dpPerRun(raw: string | undefined, n: number): (number | undefined)[] {
  if (raw === undefined) return Array(n).fill(undefined);
  const parts = raw.split(',').map((p) => positive('dp', p, true)!);
  if (parts.length !== 1 && parts.length !== n) throw new InputError('dp', raw, `give one DP size for every run or one per --from-run (${n})`);
  return parts.length === 1 ? Array(n).fill(parts[0]) : parts;
}

export function parseFitTerms(raw: string | undefined): HostTermName[] | undefined {
  if (raw === undefined) return undefined;
  const out = raw.split(',').map((t) => t.trim());
  for (const t of out) if (!(HOST_TERMS as readonly string[]).includes(t)) throw new InputError('fit', t, `unknown host term; known: ${HOST_TERMS.join(', ')}`);
  return [...new Set(out)] as HostTermName[];
}

/** The deployment overrides given on the command line, checked. */
function overridesOf(f: Omit<FromRunFlags, 'output' | 'fromRun'>): Omit<DeploymentOverrides, 'dp'> {
  return {
    model: f.model,
    maxNumSeqs: positive('max_num_seqs', f.maxNumSeqs, true),
    maxBatchedTokens: positive('max_batched_tokens', f.maxBatchedTokens, true),
    kvCapacity: positive('kv_capacity', f.kvCapacity, true),
    router: f.router,
    asyncScheduling: f.asyncScheduling,
    ranksPerNode: positive('ranks_per_node', f.ranksPerNode, true),
  };
}

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');

export function formatResiduals(rs: readonly ComponentResidual[]): string[] {
  const out: string[] = [];
  let last = '';
  for (const r of rs) {
    if (r.run !== last) {
      out.push(`  ${r.run}:`);
      last = r.run;
    }
    const what = r.window ? `tpot ${r.window[0].toFixed(1)}-${r.window[1].toFixed(1)} s` : r.component;
    const src = r.from === 'metrics' ? ', /metrics' : '';
    const anchor = r.anchor === 'arrival' ? 'from server arrival' : `${r.anchor}-anchored`;
    out.push(`    ${what.padEnd(18)} measured ${f2(r.measuredMs).padStart(9)} ms  predicted ${f2(r.predictedMs).padStart(9)} ms  ${Number.isFinite(r.errorPct) ? `${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(1)}%` : '-'}  (${anchor}${src}, n ${r.n})`);
  }
  return out;
}

export async function calibrateFromRun(f: FromRunFlags): Promise<void> {
  if (f.fromRun.length === 0) throw new InputError('from_run', undefined, 'give at least one measured run');
  const terms = parseFitTerms(f.fit);
  const speed = positive('speed', f.speed, false);
  const seed = f.seed === undefined ? undefined : Number(f.seed);
  if (seed !== undefined && (f.seed!.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) throw new InputError('seed', f.seed, 'must be a whole number from 0 to 4294967295');
  checkDistinct(
    [{ what: 'the model file (-o)', target: checkOutputPath(f.output, 'output', { createDir: true }) }],
    f.fromRun.map((p) => ({ what: 'a measured run', path: p })),
  );
  const runs = f.fromRun.map((p) => readMeasuredRun(p, 'from_run', { seed }));
  const dps = dpPerRun(f.dp, runs.length);
  const o = overridesOf(f);
  const entries: RunToFit[] = runs.map((run, k) => ({ run, scenario: scenarioForRun(run, { ...o, dp: dps[k] }, k), speed: speed ?? run.speed }));
  const models = new Set(entries.map((e) => e.scenario.model));
  if (models.size > 1) throw new InputError('model', [...models].join(', '), 'the runs record different step models; pass --model BASE');
  const fit = await fitHostTerms(entries, { terms, name: f.name, ranksPerNode: positive('ranks_per_node', f.ranksPerNode, true) });
  modelFromSpec(fit.model, 'output'); // the written file must load
  writeFileAtomic(f.output, (tmp) => writeFileSync(tmp, JSON.stringify(fit.model, null, 2) + '\n'), 'output');
  if (f.json) {
    process.stdout.write(JSON.stringify({ output: f.output, terms: fit.terms, residuals: fit.residuals, notes: fit.notes }, null, 2) + '\n');
    return;
  }
  const lines = [
    `calibrated host terms of ${entries[0].scenario.model} from ${runs.length} run${runs.length > 1 ? 's' : ''}:`,
    ...entries.map((e) => `  ${e.run.path}: ${e.run.source}, ${e.run.arrivalUs.length} requests, DP ${e.scenario.dp}${(e.speed ?? 1) !== 1 ? `, speed ${e.speed}` : ''}, ${e.run.anchor}-anchored`),
    'terms:',
    ...fit.terms.map((t) => `  ${t.name.padEnd(16)} ${(t.valuePs / 1e6).toFixed(0).padStart(8)} µs  ${t.fitted ? `fitted on ${t.fittedOn.length} run${t.fittedOn.length > 1 ? 's' : ''}` : 'not fitted'}${t.note ? ` (${t.note})` : ''}`),
    'residuals (means, model-time ms; predicted - measured):',
    ...formatResiduals(fit.residuals),
    ...fit.notes.map((n) => `note: ${n}`),
    `wrote ${f.output} (use it with --model ${f.output})`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
