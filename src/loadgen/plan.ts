/**
 * What a load run sends, decided entirely before the first request goes out (so sending costs
 * no more than a write): per request its send offset, its prompt and output lengths and its
 * JSON body.
 *
 * - profile (default): lengths drawn from a built-in profile exactly as `balanceroute run --seed S`
 *   draws them (the workload builder's prompt and output streams), arrivals drawn as vllm bench
 *   serve draws them (arrivals.ts). The prompt is a list of token ids of exactly the sampled
 *   length, with `max_tokens` = the sampled output and `ignore_eos: true`, so the server sees the
 *   lengths the simulator will replay.
 * - trace: arrivals and lengths of a trace file (the workload builder's trace replay, optionally
 *   rescaled with --rate), token-id prompts as above.
 * - dataset: ShareGPT text (sharegpt.ts) with vllm bench arrivals.
 */
import { InputError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { buildWorkload } from '../workload/build.ts';
import { vllmBenchSchedule } from './arrivals.ts';
import { loadTokenizer, sampleShareGpt } from './sharegpt.ts';

export type Endpoint = 'completions' | 'chat';

/** Token ids of synthetic prompts are drawn from [TOKEN_ID_MIN, TOKEN_ID_MIN + TOKEN_ID_SPAN): inside every common vocabulary, past the special tokens. */
export const TOKEN_ID_MIN = 1000;
export const TOKEN_ID_SPAN = 29000;
/** RNG stream of synthetic token ids ('TOKN'). */
const STREAM_TOKENS = 0x544f4b4e;

export interface PlannedRequest {
  index: number;
  /** Scheduled send time, µs after the start of the run. */
  offsetUs: number;
  promptTokens: number;
  maxTokens: number;
  body: string;
}

export interface PlanOptions {
  endpoint: Endpoint;
  model: string;
  requests: number;
  rate: number;
  burstiness: number;
  seed: number;
  maxOutput: number;
  ignoreEos: boolean;
  workload?: string;
  trace?: string;
  dataset?: string;
  tokenizer?: string;
}

export interface LoadPlan {
  requests: PlannedRequest[];
  /** 'profile' | 'trace' | 'dataset' */
  kind: 'profile' | 'trace' | 'dataset';
  /** Profile name, trace path or dataset path. */
  source: string;
}

/** Checks of the flag combination, before anything is read or sent. */
export function checkPlanOptions(o: Pick<PlanOptions, 'endpoint' | 'trace' | 'dataset' | 'tokenizer'>): void {
  const given = [o.trace !== undefined, o.dataset !== undefined].filter(Boolean).length;
  if (given > 1) throw new InputError('dataset', o.dataset, 'give only one of --trace and --dataset');
  if (o.dataset === undefined && o.endpoint === 'chat') {
    throw new InputError('endpoint', o.endpoint, 'token-id prompts need --endpoint completions; use --dataset with --tokenizer for chat');
  }
  if (o.dataset !== undefined && o.tokenizer === undefined) {
    throw new InputError('tokenizer', o.tokenizer, '--dataset needs --tokenizer tokenizer.json to count tokens');
  }
  if (o.tokenizer !== undefined && o.dataset === undefined) {
    throw new InputError('tokenizer', o.tokenizer, 'only applies with --dataset (synthetic prompts are token ids)');
  }
}

export function buildPlan(o: PlanOptions): LoadPlan {
  checkPlanOptions(o);

  if (o.dataset !== undefined) {
    const tok = loadTokenizer(o.tokenizer!);
    const picked = sampleShareGpt(o.dataset, o.requests, o.seed, tok);
    const t = vllmBenchSchedule(o.requests, o.rate, o.burstiness, o.seed);
    const requests = picked.map((r, i) => ({
      index: i,
      offsetUs: t[i] * 1e6,
      promptTokens: r.promptTokens,
      maxTokens: r.outputTokens,
      body: JSON.stringify(payload(o, r.prompt, r.outputTokens)),
    }));
    return { requests, kind: 'dataset', source: o.dataset };
  }

  let offsets: Float64Array;
  let prompt: Int32Array;
  let output: Int32Array;
  let kind: LoadPlan['kind'];
  let source: string;
  if (o.trace !== undefined) {
    const wl = buildWorkload({ source: 'trace', tracePath: o.trace, rate: Number.isFinite(o.rate) ? o.rate : 0, requests: o.requests, maxOutput: o.maxOutput, arrival: 'poisson', cv: 1, seed: o.seed });
    offsets = wl.arrivalUs;
    ({ prompt, output } = wl);
    kind = 'trace';
    source = o.trace;
  } else {
    const profile = o.workload ?? 'sharegpt';
    // Lengths from the workload builder (the arrivals it draws are not used: vllm bench's are).
    const wl = buildWorkload({ source: profile, arrival: 'poisson', cv: 1, rate: 1, requests: o.requests, seed: o.seed, maxOutput: o.maxOutput });
    const t = vllmBenchSchedule(o.requests, o.rate, o.burstiness, o.seed);
    offsets = t.map((s) => s * 1e6);
    ({ prompt, output } = wl);
    kind = 'profile';
    source = profile;
  }
  const rng = new Rng(o.seed, STREAM_TOKENS);
  const requests: PlannedRequest[] = [];
  for (let i = 0; i < offsets.length; i++) {
    const ids = new Array<number>(prompt[i]);
    for (let k = 0; k < ids.length; k++) ids[k] = TOKEN_ID_MIN + rng.below(TOKEN_ID_SPAN);
    requests.push({ index: i, offsetUs: offsets[i], promptTokens: prompt[i], maxTokens: output[i], body: JSON.stringify(payload(o, ids, output[i])) });
  }
  return { requests, kind, source };
}

/** The request body, as vllm bench serve builds it for the OpenAI completions / chat backends. */
export function payload(o: Pick<PlanOptions, 'endpoint' | 'model' | 'ignoreEos'>, prompt: string | number[], maxTokens: number): Record<string, unknown> {
  const common = { stream: true, stream_options: { include_usage: true }, ...(o.ignoreEos ? { ignore_eos: true } : {}) };
  if (o.endpoint === 'chat') {
    return { model: o.model, messages: [{ role: 'user', content: prompt }], max_completion_tokens: maxTokens, ...common };
  }
  return { model: o.model, prompt, max_tokens: maxTokens, ...common };
}
