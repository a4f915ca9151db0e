/**
 * Derive the built-in workload profiles (src/workload/profiles/<name>.json) from public traces.
 *
 *   npx tsx scripts/fit-profiles.ts [DATA_DIR]
 *
 * DATA_DIR defaults to test/fixtures/data (the public traces, with their ATTRIBUTION.md); it must hold
 * azure-llm-2023/{conv,code}.csv and qwen3-30b-a3b-rtxpro6000/sharegpt-300-sps10.csv (see
 * docs/workloads.md for where they come from). Each profile keeps only summary statistics and
 * quantile tables of the token counts (the empirical inverse CDF), never the raw rows.
 * The output is deterministic: re-running on the same files gives byte-identical JSON.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTraceFile } from '../src/workload/traceReader.ts';
import type { ProfileFile } from '../src/workload/profiles.ts';

/** Points of the quantile tables: p = i / (QUANTILES - 1), i = 0..QUANTILES-1. */
export const QUANTILES = 1025;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Source {
  name: string;
  file: string;
  description: (p: ProfileFile) => string;
  source: ProfileFile['source'];
}

const VIDUR = 'Agrawal et al., "Vidur: A Large-Scale Simulation Framework for LLM Inference", MLSys 2024 (github.com/microsoft/vidur)';
const SPLITWISE =
  'Patel et al., "Splitwise: Efficient Generative LLM Inference Using Phase Splitting", ISCA 2024; data: Azure LLM inference trace 2023, github.com/Azure/AzurePublicDataset';

const SOURCES: Source[] = [
  {
    name: 'sharegpt',
    file: 'qwen3-30b-a3b-rtxpro6000/sharegpt-300-sps10.csv',
    description: (p) =>
      `ShareGPT conversations tokenised for Qwen3 (${p.n} requests, LLMServingSim's vLLM-validation sample): prompt median ${fmt(p.prompt.stats.median)}, output median ${fmt(p.output.stats.median)}`,
    source: {
      dataset: 'ShareGPT conversations, tokenised for Qwen3-30B-A3B (input_toks, output_toks, arrival_time_ns)',
      origin: 'casys-kaist/LLMServingSim @ 5daddb2, the 300-request sharegpt sample at 10 req/s Poisson served by vLLM 0.19.0 (DP=2, EP)',
      licence: 'MIT (LLMServingSim). Only token-count statistics are shipped here, no conversation text.',
      citation:
        'Cho et al., "LLMServingSim: A HW/SW Co-Simulation Infrastructure for LLM Inference Serving at Scale", IISWC 2024 (github.com/casys-kaist/LLMServingSim)',
    },
  },
  {
    name: 'azure_conv',
    file: 'azure-llm-2023/conv.csv',
    description: (p) =>
      `Azure LLM inference trace 2023, conversation (${p.n} requests, ${p.arrivals.meanRate.toFixed(2)} req/s, inter-arrival CV ${p.arrivals.interArrivalCv.toFixed(2)}): prompt median ${fmt(p.prompt.stats.median)}, output median ${fmt(p.output.stats.median)}`,
    source: {
      dataset: 'Azure LLM inference trace 2023, conversation service (AzureLLMInferenceTrace_conv)',
      origin: 'microsoft/vidur data/processed_traces/splitwise_conv.csv (arrived_at, num_prefill_tokens, num_decode_tokens)',
      licence: 'Raw trace: CC-BY (Azure Public Dataset); processed copy: MIT (Vidur).',
      citation: `${SPLITWISE}; processed by ${VIDUR}`,
    },
  },
  {
    name: 'azure_code',
    file: 'azure-llm-2023/code.csv',
    description: (p) =>
      `Azure LLM inference trace 2023, code (${p.n} requests, ${p.arrivals.meanRate.toFixed(2)} req/s, very bursty: inter-arrival CV ${p.arrivals.interArrivalCv.toFixed(1)}): prompt median ${fmt(p.prompt.stats.median)}, output median ${fmt(p.output.stats.median)}`,
    source: {
      dataset: 'Azure LLM inference trace 2023, code-completion service (AzureLLMInferenceTrace_code)',
      origin: 'microsoft/vidur data/processed_traces/splitwise_code.csv (arrived_at, num_prefill_tokens, num_decode_tokens)',
      licence: 'Raw trace: CC-BY (Azure Public Dataset); processed copy: MIT (Vidur).',
      citation: `${SPLITWISE}; processed by ${VIDUR}`,
    },
  },
];

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

/** Quantile of sorted data by linear interpolation between order statistics (Hyndman–Fan type 7). */
export function quantileSorted(sorted: Float64Array | number[], p: number): number {
  const n = sorted.length;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function lengthProfile(values: Int32Array): ProfileFile['prompt'] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let sum = 0;
  let sumLog = 0;
  for (const v of sorted) {
    sum += v;
    sumLog += Math.log(v);
  }
  const meanLog = sumLog / n;
  let ss = 0;
  for (const v of sorted) ss += (Math.log(v) - meanLog) ** 2;
  const quantiles: number[] = [];
  for (let i = 0; i < QUANTILES; i++) quantiles.push(round(quantileSorted(sorted, i / (QUANTILES - 1)), 3));
  return {
    stats: {
      min: sorted[0],
      mean: round(sum / n, 2),
      median: quantileSorted(sorted, 0.5),
      p90: round(quantileSorted(sorted, 0.9), 2),
      p99: round(quantileSorted(sorted, 0.99), 2),
      max: sorted[n - 1],
    },
    // Maximum-likelihood lognormal: median = exp(mean of ln x), sigma = sd of ln x.
    lognormal: { median: round(Math.exp(meanLog), 2), sigma: round(Math.sqrt(ss / n), 4) },
    quantiles,
  };
}

function arrivalStats(timeUs: Float64Array): ProfileFile['arrivals'] {
  const n = timeUs.length;
  const span = timeUs[n - 1] - timeUs[0];
  let s = 0;
  let s2 = 0;
  for (let i = 1; i < n; i++) {
    const g = timeUs[i] - timeUs[i - 1];
    s += g;
    s2 += g * g;
  }
  const m = s / (n - 1);
  const variance = s2 / (n - 1) - m * m;
  return {
    durationS: round(span / 1e6, 3),
    meanRate: round(((n - 1) / span) * 1e6, 4),
    interArrivalCv: round(Math.sqrt(Math.max(0, variance)) / m, 4),
  };
}

function fitProfile(src: Source, dataDir: string): ProfileFile {
  const t = parseTraceFile({ path: join(dataDir, src.file) });
  const partial: ProfileFile = {
    name: src.name,
    description: '',
    source: { ...src.source, file: src.file },
    n: t.n,
    quantilePoints: QUANTILES,
    arrivals: arrivalStats(t.timeUs),
    prompt: lengthProfile(t.prompt),
    output: lengthProfile(t.output),
  };
  partial.description = src.description(partial);
  return partial;
}

/** Pretty JSON with arrays of numbers kept on one line (readable diffs, small files). */
export function toJson(p: ProfileFile): string {
  return JSON.stringify(p, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_m, body: string) => `[${body.split(/,\s*/).join(', ')}]`) + '\n';
}

/** Fit every built-in profile from the data directory (in listing order). */
export function fitAll(dataDir: string): ProfileFile[] {
  return SOURCES.map((src) => fitProfile(src, dataDir));
}

/** Default data directory: the copies of the public traces in test/fixtures/data. */
export function defaultDataDir(): string {
  return resolve(join(ROOT, 'test', 'fixtures', 'data'));
}

function main(): void {
  const dataDir = process.argv[2] ? resolve(process.argv[2]) : defaultDataDir();
  if (!existsSync(dataDir)) {
    process.stderr.write(`data directory not found: ${dataDir} (pass it as the first argument)\n`);
    process.exit(2);
  }
  const outDir = join(ROOT, 'src', 'workload', 'profiles');
  mkdirSync(outDir, { recursive: true });
  for (const p of fitAll(dataDir)) {
    const file = join(outDir, `${p.name}.json`);
    writeFileSync(file, toJson(p));
    const s = (x: ProfileFile['prompt']) =>
      `mean ${x.stats.mean} median ${x.stats.median} p90 ${x.stats.p90} max ${x.stats.max} lognormal(${x.lognormal.median}, ${x.lognormal.sigma})`;
    process.stdout.write(
      `${relative(ROOT, file)}: n=${p.n} rate ${p.arrivals.meanRate} req/s, CV ${p.arrivals.interArrivalCv}\n` +
        `  prompt ${s(p.prompt)}\n  output ${s(p.output)}\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
