/**
 * Capacity under an SLO of the barrier policies on Qwen3-30B-A3B/H100 and DeepSeek-V3/H200, G = 8,
 * 16, 32, paired over seeds (docs/barrier-policies.md, "Capacity under an SLO"). One command, CPU engine:
 *
 *   npm run barrier:capacity [-- --seeds 1,2,3] [--dps 8,16] [--tolerance 2%] [--window 60]
 *                               [--files a.yaml,b.yaml] [-o benches/results/barrier-capacity.md]
 *
 * The policies are the `configs` entries of DEFAULT_FILES (examples/barrier-capacity-qwen3-h100.yaml
 * and -dsv3-h200.yaml): adding a policy is one line there (wave dispatch was). Writes the markdown
 * tables and a JSON file with every per-seed row beside them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus } from 'node:os';
import { CpuEngine } from '../src/engine/cpu/cpuEngine.ts';
import { parseTolerance, parseWindow } from '../src/cli/capacityCommand.ts';
import { barrierTables, runBarrierCapacity } from './barrier-capacity/lib.ts';

export const DEFAULT_FILES = ['examples/barrier-capacity-qwen3-h100.yaml', 'examples/barrier-capacity-dsv3-h200.yaml'];

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ints = (name: string) => {
  const v = flag(name);
  if (v === undefined) return undefined;
  const xs = v.split(',').map((x) => Number(x));
  if (xs.some((x) => !Number.isInteger(x) || x < 0)) {
    process.stderr.write(`barrier-capacity: ${name}: expected comma-separated integers (got ${JSON.stringify(v)})\n`);
    process.exit(2);
  }
  return xs;
};
const output = flag('-o') ?? 'benches/results/barrier-capacity.md';
const files = flag('--files')?.split(',') ?? DEFAULT_FILES;

// The per-seed JSON keeps the columns the tables and the prose use, not every metric.
const KEPT = ['requests', 'preempted', 'req_per_s', 'ttft_p95_ms', 'tpot_p95_ms', 'e2e_mean_ms', 'idle_frac', 'token_balance_ratio', 'mean_in_system'] as const;
const pick = (m: Record<(typeof KEPT)[number], number>) => Object.fromEntries(KEPT.map((k) => [k, m[k]]));

const engine = new CpuEngine({});
const t0 = Date.now();
let md: string;
let json: string;
try {
  const res = await runBarrierCapacity(engine, {
    files,
    seeds: ints('--seeds'),
    dps: ints('--dps'),
    tolerance: parseTolerance(flag('--tolerance') ?? '2%'),
    window: flag('--window') === undefined ? undefined : parseWindow(flag('--window')),
    log: (s) => process.stderr.write(s + '\n'),
  });
  md =
    `# Barrier policies: capacity under an SLO (${new Date(t0).toISOString().slice(0, 10)})\n\n` +
    `Made by \`npm run barrier:capacity${args.length ? ' -- ' + args.join(' ') : ''}\` from ${files.join(', ')}; ` +
    `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}, CPU engine with up to ${cpus().length} worker threads.\n\n` +
    barrierTables(res) +
    '\n';
  // One row per line: small, and diffs of a rerun read row by row.
  const head = { slo: res.slo, tolerance: res.tolerance, windows: res.windows, wall_ms: Math.round(res.wallMs), simulations: res.simulations };
  const rows = res.runs.map((r) => JSON.stringify({ ...r, atCapacity: pick(r.atCapacity), atCommon: pick(r.atCommon) }));
  json = `${JSON.stringify(head).slice(0, -1)},"rows":[\n${rows.join(',\n')}\n]}`;
} finally {
  await engine.close();
}
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, md);
writeFileSync(output.replace(/\.md$/, '') + '.json', json + '\n');
process.stderr.write(`-> ${output} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
