/**
 * Copy the fidelity suite's data from a local clone (or bare mirror) of casys-kaist/LLMServingSim
 * into benches/fidelity/data/, reduced to what the suite reads (benches/fidelity/data/ATTRIBUTION.md
 * lists every file and its source path). Run once; the output is committed.
 *
 *   tsx benches/fidelity/import-data.ts /path/to/LLMServingSim[.git] [commit]
 *
 * Reductions: LLMServingSim's per-request `outputs/sim.csv` loses its per-token ITL arrays and the
 * model column (2 MB -> ~25 kB per run); its `outputs/sim.log` becomes the per-second series that
 * its own `bench/core/validate.py` parses from it (same regular expressions). Profiles keep the
 * four tables the calibration reads plus meta.yaml (the skew sweeps are summarised in meta.yaml).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FIDELITY_RUNS, DATA_DIR } from './runs.ts';

const repo = process.argv[2];
const commit = process.argv[3] ?? 'HEAD';
if (!repo) {
  process.stderr.write('usage: tsx benches/fidelity/import-data.ts <LLMServingSim clone or bare git dir> [commit]\n');
  process.exit(2);
}
const show = (path: string): string => execFileSync('git', ['-C', repo, 'show', `${commit}:${path}`], { encoding: 'utf8', maxBuffer: 1 << 28 });
const write = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
};

/** sim.csv without ITL arrays: quoted CSV fields only occur in the ITL column (a JSON list). */
function reduceSimCsv(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0].split(',');
  const keep = ['instance id', 'request id', 'input', 'output', 'arrival', 'end_time', 'latency', 'queuing_delay', 'TTFT', 'TPOT'];
  const idx = keep.map((k) => {
    const i = header.indexOf(k);
    if (i < 0) throw new Error(`sim.csv has no column ${k}`);
    return i;
  });
  const out = [keep.map((k) => k.replace(' ', '_')).join(',')];
  for (const l of lines.slice(1)) {
    const q = l.indexOf('"');
    const cells = (q >= 0 ? l.slice(0, q) : l).split(',');
    out.push(idx.map((i) => cells[i]).join(','));
  }
  return out.join('\n') + '\n';
}

/** The per-tick series LLMServingSim's validate.py reads from sim.log (its regular expressions). */
function simLogSeries(text: string): string {
  const ts = /^\[(\d+\.?\d*)s\]/;
  const tput = /Avg prompt throughput:\s*(\d+\.?\d*).*generation throughput:\s*(\d+\.?\d*)/;
  const inst = /Running Instance\[(\d+)\]:\s*(\d+) reqs, Waiting:\s*(\d+) reqs/;
  const rows: string[] = ['t,prompt_throughput,gen_throughput,running,waiting'];
  let cur: { t: number; p: number; g: number; r: number; w: number } | undefined;
  const flush = () => cur && rows.push(`${cur.t},${cur.p},${cur.g},${cur.r},${cur.w}`);
  for (const line of text.split('\n')) {
    const m = ts.exec(line);
    if (m) {
      flush();
      cur = { t: Number(m[1]), p: 0, g: 0, r: 0, w: 0 };
      const t = tput.exec(line);
      if (t) {
        cur.p = Number(t[1]);
        cur.g = Number(t[2]);
      }
      continue;
    }
    const i = inst.exec(line);
    if (i && cur) {
      cur.r += Number(i[2]);
      cur.w += Number(i[3]);
    }
  }
  flush();
  return rows.join('\n') + '\n';
}

const profilesDone = new Set<string>();
for (const run of FIDELITY_RUNS) {
  const src = `bench/examples/${run.source}`;
  const dst = join(DATA_DIR, run.id);
  for (const f of ['meta.json', 'requests.jsonl', 'timeseries.csv']) write(join(dst, 'vllm', f), show(`${src}/vllm/${f}`));
  write(join(dst, 'llmservingsim', 'requests.csv'), reduceSimCsv(show(`${src}/outputs/sim.csv`)));
  write(join(dst, 'llmservingsim', 'timeseries.csv'), simLogSeries(show(`${src}/outputs/sim.log`)));
  write(join(dst, 'llmservingsim', 'summary.txt'), show(`${src}/validation/summary.txt`));
  write(join(dst, 'llmservingsim', 'cluster-config.json'), show(`${src}/config.json`));
  const prof = `profiler/perf/${run.profile.source}`;
  const key = `${prof}/tp${run.tp}`;
  if (!profilesDone.has(key)) {
    profilesDone.add(key);
    const pdst = join(DATA_DIR, 'profiles', run.profile.dir);
    write(join(pdst, 'meta.yaml'), show(`${prof}/meta.yaml`));
    write(join(pdst, 'model-config.json'), show(`configs/model/${run.hfModel}.json`));
    for (const t of ['attention.csv', 'dense.csv', 'per_sequence.csv', ...(run.moe ? ['moe.csv'] : [])]) {
      write(join(pdst, `tp${run.tp}`, t), show(`${prof}/tp${run.tp}/${t}`));
    }
  }
  process.stdout.write(`imported ${run.id}\n`);
}
