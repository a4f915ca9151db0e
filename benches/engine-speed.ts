/**
 * Engine speed, old commit against the working tree, in one run (`npm run bench:engine`).
 *
 * The CPU engine of a given commit (default `main`) is extracted into a temporary directory
 * (`git archive`, nothing registered in the repository) and run next to the working tree's, both
 * loading the TypeScript sources through the same loader (tsx), taking turns on the same
 * configurations — old then new, new then old (ABBA), one simulation at a time — so that the
 * machine's drift and other load fall on both alike. What counts is the ratio within one run,
 * not the absolute figure on a shared machine.
 *
 * Two modes, because V8 does not compile a process's first simulation like the later ones:
 * - warm: one long-lived process per tree, a discarded warm-up run per configuration, then the
 *   timed runs (what a sweep or a capacity search sees after its first configuration);
 * - cold: a fresh process per timed run, whose first and only simulation is timed (what
 *   `balanceroute run` sees). The saturation regression of issue 21 showed only here: in
 *   5cdcfea the first simulation of a process ran ~1.6× faster than any later one
 *   (docs/performance.md, "Cold and warm runs").
 *
 * Configurations: `run --router jsq_load --dp G --requests N` on the default preset and workload
 * at three loads — light (3 req/s at DP 8), 70% of capacity, saturation (60 req/s at DP 8) —
 * with rates scaled by G/8, for G in --dp and each seed in --seeds. Figure: simulated requests
 * per second of `simulate` on one core, by the engine's wall time (`metrics.wall_ms`) and by the
 * main thread's CPU time over the same call (less disturbed by other load); median and spread (half
 * the range, relative to the median) over seeds × repetitions, and the ratio new/old of each
 * adjacent pair. "same" says whether both trees produced identical metrics.
 *
 *   npm run bench:engine -- [--base <commit>] [--mode warm,cold] [--dp 8,16,64]
 *     [--loads light,70,sat] [--seeds 1,2,3] [--reps 2] [--cold-reps 1] [--requests 20000]
 *     [--router jsq_load] [--quick] [--json <file>] [--keep]
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/**
 * Rates at DP 8 (req/s), scaled by G/8. Capacity of DP 8 on the default preset and workload:
 * the completed-request throughput when offered more than it can serve (53.2 req/s completed at
 * 60 req/s offered, 54.4 at 100 req/s: waiting queues grow without bound).
 */
const DP8_CAPACITY = 54;
const LOADS: Record<string, { label: string; dp8Rate: number }> = {
  light: { label: 'light', dp8Rate: 3 },
  '70': { label: '70%', dp8Rate: Math.round(0.7 * DP8_CAPACITY * 10) / 10 },
  sat: { label: 'saturation', dp8Rate: 60 },
};

type Mode = 'warm' | 'cold';

interface Args {
  base: string;
  modes: Mode[];
  coldReps: number;
  dp: number[];
  loads: string[];
  seeds: number[];
  reps: number;
  requests: number;
  router: string;
  json?: string;
  keep: boolean;
}

function fail(msg: string): never {
  process.stderr.write(`bench:engine: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { base: 'main', modes: ['warm', 'cold'], coldReps: 1, dp: [8, 16, 64], loads: ['light', '70', 'sat'], seeds: [1, 2, 3], reps: 2, requests: 20000, router: 'jsq_load', keep: false };
  const ints = (flag: string, v: string | undefined): number[] => {
    const xs = (v ?? '').split(',').map(Number);
    if (!v || xs.some((x) => !Number.isInteger(x) || x < 1)) fail(`${flag} must be a comma-separated list of positive integers, got ${v}`);
    return xs;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const v = argv[i + 1];
    switch (f) {
      case '--base': if (!v) fail('--base needs a commit'); a.base = v; i++; break;
      case '--dp': a.dp = ints(f, v); i++; break;
      case '--seeds': a.seeds = ints(f, v); i++; break;
      case '--reps': a.reps = ints(f, v)[0]; i++; break;
      case '--cold-reps': a.coldReps = ints(f, v)[0]; i++; break;
      case '--mode':
        a.modes = (v ?? '').split(',') as Mode[];
        for (const m of a.modes) if (m !== 'warm' && m !== 'cold') fail(`--mode: unknown mode ${m} (warm, cold)`);
        i++;
        break;
      case '--requests': a.requests = ints(f, v)[0]; i++; break;
      case '--router': if (!v) fail('--router needs a name'); a.router = v; i++; break;
      case '--loads':
        a.loads = (v ?? '').split(',');
        for (const l of a.loads) if (!(l in LOADS)) fail(`--loads: unknown load ${l} (light, 70, sat)`);
        i++;
        break;
      case '--json': if (!v) fail('--json needs a file'); a.json = v; i++; break;
      case '--keep': a.keep = true; break;
      case '--quick': a.dp = [8]; a.seeds = [1, 2]; a.reps = 2; a.coldReps = 2; a.requests = 20000; break;
      case '--': break;
      default: fail(`unknown option ${f}`);
    }
  }
  return a;
}

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) fail(`git ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** The sources of `commit` in a temporary directory, with the working tree's node_modules. */
function extract(commit: string): string {
  const sha = git(['rev-parse', '--verify', `${commit}^{commit}`]);
  const dir = `/tmp/balanceroute-bench-${sha.slice(0, 12)}`;
  if (!existsSync(`${dir}/.complete`)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const tar = spawnSync('bash', ['-c', `git archive ${sha} | tar -x -C ${dir}`], { cwd: root, encoding: 'utf8' });
    if (tar.status !== 0) fail(`git archive ${sha}: ${tar.stderr.trim()}`);
    symlinkSync(realpathSync(`${root}/node_modules`), `${dir}/node_modules`);
    writeFileSync(`${dir}/.complete`, sha + '\n');
  }
  return dir;
}

interface Reply {
  wallMs: number[];
  cpuMs: number[];
  requests: number;
  fingerprint: string;
}

/** One tree's runner: a child process that answers one job at a time. */
class Runner {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: ((r: Reply) => void)[] = [];
  private stderr = '';
  constructor(readonly name: string, tree: string) {
    // nice: the machine is shared; both runners get the same priority, so ratios hold.
    this.child = spawn('nice', ['-n', '10', process.execPath, '--import', 'tsx', `${root}/benches/engineSpeedRunner.ts`, tree], { cwd: root });
    createInterface({ input: this.child.stdout }).on('line', (l) => this.replies.shift()?.(JSON.parse(l) as Reply));
    this.child.stderr.on('data', (d) => (this.stderr += String(d)));
    this.child.on('exit', (code) => {
      if (this.replies.length > 0) fail(`${name} runner exited (${code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    });
  }
  run(entry: Record<string, unknown>, reps = 1): Promise<Reply> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.child.stdin.write(JSON.stringify({ entry, reps }) + '\n');
    });
  }
  close(): void {
    this.child.stdin.end();
  }
}

/** A cold run: a fresh process that simulates one configuration once and exits. */
async function coldRun(name: string, tree: string, entry: Record<string, unknown>): Promise<Reply> {
  const r = new Runner(name, tree);
  const reply = r.run(entry);
  r.close();
  return reply;
}

// A run shorter than one tick of the CPU clock (10 ms) has no CPU-time figure: its samples are
// left out, and a cell with none left reads "—" (the wall-time table still has it).
const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs: number[]): number => (xs.length === 0 ? NaN : (Math.max(...xs) - Math.min(...xs)) / 2 / median(xs));
const kfmt = (x: number): string => (!Number.isFinite(x) ? '—' : x >= 1e4 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const pct = (x: number): string => (Number.isFinite(x) ? `±${(100 * x).toFixed(0)}%` : '—');
const times = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
const range = (xs: number[]): string => (xs.length === 0 ? '—' : `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`);

/** Simulated requests/s of each run, by the engine's wall time and by its main thread's CPU time. */
interface Samples {
  old: number[];
  new: number[];
  /** new/old of each adjacent pair. */
  ratios: number[];
}

interface Row {
  mode: Mode;
  dp: number;
  load: string;
  rate: number;
  wall: Samples;
  cpu: Samples;
  same: boolean;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const baseSha = git(['rev-parse', '--short=12', `${a.base}^{commit}`]);
  const head = git(['rev-parse', '--short=12', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'src']) !== '';
  const trees = { old: extract(a.base), new: root };
  process.stderr.write(`bench:engine: old = ${a.base} (${baseSha}), new = working tree (HEAD ${head}${dirty ? ' + uncommitted changes in src/' : ''})\n`);

  const rows: Row[] = [];
  const started = performance.now();
  for (const mode of a.modes) {
    const warm = mode === 'warm' ? { old: new Runner('old', trees.old), new: new Runner('new', trees.new) } : undefined;
    const runOn = (side: 'old' | 'new', entry: Record<string, unknown>) => (warm ? warm[side].run(entry) : coldRun(side, trees[side], entry));
    for (const G of a.dp) {
      for (const load of a.loads) {
        const rate = Math.round(((LOADS[load].dp8Rate * G) / 8) * 10) / 10;
        const entryOf = (seed: number) => ({ router: { name: a.router }, dp: G, requests: a.requests, rate, seed });
        const samples = (): Samples => ({ old: [], new: [], ratios: [] });
        const row: Row = { mode, dp: G, load: LOADS[load].label, rate, wall: samples(), cpu: samples(), same: true };
        if (warm) {
          // One discarded run per side, so that both are compiled before they are timed.
          await warm.old.run(entryOf(a.seeds[0]));
          await warm.new.run(entryOf(a.seeds[0]));
        }
        let k = 0;
        for (const seed of a.seeds) {
          for (let rep = 0; rep < (warm ? a.reps : a.coldReps); rep++, k++) {
            const order = k % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const);
            const got: Partial<Record<'old' | 'new', Reply>> = {};
            for (const side of order) got[side] = await runOn(side, entryOf(seed));
            for (const clock of ['wall', 'cpu'] as const) {
              const rs = (r: Reply) => {
                const ms = clock === 'wall' ? r.wallMs[0] : r.cpuMs[0];
                return ms > 0 ? r.requests / (ms / 1000) : NaN;
              };
              const o = rs(got.old!);
              const n = rs(got.new!);
              if (Number.isFinite(o)) row[clock].old.push(o);
              if (Number.isFinite(n)) row[clock].new.push(n);
              if (Number.isFinite(o) && Number.isFinite(n)) row[clock].ratios.push(n / o);
            }
            if (got.old!.fingerprint !== got.new!.fingerprint) row.same = false;
          }
        }
        rows.push(row);
        const c = row.cpu;
        process.stderr.write(
          `  ${mode} dp ${G} ${row.load}: old ${kfmt(median(c.old))}  new ${kfmt(median(c.new))} req/s per CPU-s  new/old ${times(median(c.ratios))}  (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
        );
      }
    }
    warm?.old.close();
    warm?.new.close();
  }

  const table = (clock: 'wall' | 'cpu'): string[] => [
    '| mode | DP | load | rate (req/s) | old median | spread | new median | spread | new/old (median of pairs) | pair range | same metrics |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) => {
      const x = r[clock];
      return (
        `| ${r.mode} | ${r.dp} | ${r.load} | ${r.rate} | ${kfmt(median(x.old))} | ${pct(spread(x.old))} | ${kfmt(median(x.new))} | ${pct(spread(x.new))} | ` +
        `${times(median(x.ratios))} | ${range(x.ratios)} | ${r.same ? 'yes' : 'no'} |`
      );
    }),
  ];
  const lines = [
    `Engine speed: simulated requests/s per core, ${a.router}, ${a.requests} requests, seeds ${a.seeds.join(',')}; ` +
      `warm: ${a.reps} runs per seed, cold: ${a.coldReps} per seed (ABBA)`,
    `old = ${a.base} (${baseSha}); new = working tree (HEAD ${head}${dirty ? ', uncommitted src/ changes' : ''})`,
    `${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at the end, ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s`,
    '',
    "By the main thread's CPU time over the call (less disturbed by other load; 10 ms ticks; runs shorter than a tick are left out, — where none is left):",
    '',
    ...table('cpu'),
    '',
    "By the engine's wall time (metrics.wall_ms):",
    '',
    ...table('wall'),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (a.json) {
    writeFileSync(a.json, JSON.stringify({ base: a.base, baseSha, head, dirty, args: a, node: process.version, rows }, null, 2) + '\n');
  }
  if (!a.keep) rmSync(trees.old, { recursive: true, force: true });
}

await main();
