// `balanceroute loadgen`: send a workload to an OpenAI-compatible server on schedule and measure
// it as vllm bench serve does (docs/loadgen.md).
import { Agent } from 'undici';
import { InputError } from '../errors.ts';
import { buildPlan, checkPlanOptions, type Endpoint } from '../loadgen/plan.ts';
import { runPlan } from '../loadgen/runner.ts';
import { sendRequest } from '../loadgen/client.ts';
import { benchMetrics, stats, summaryMetrics } from '../loadgen/metrics.ts';
import { benchJson, formatBenchBlock, formatFailures, summaryPathFor, summaryTable, writeBenchJson, writeMeasured, type RunSettings } from '../loadgen/output.ts';
import { readGatewayLog } from '../loadgen/gatewayLog.ts';
import { fetchServerSnapshot, serverMetadata } from '../loadgen/serverInfo.ts';
import { createProgressBar } from './progressBar.ts';
import { checkDistinct, checkOutputPath, messageStream, type NamedPath } from '../formats/outputFile.ts';

export interface LoadgenFlags {
  url: string;
  endpoint: string;
  rate?: string;
  burstiness: string;
  requests?: string;
  workload?: string;
  trace?: string;
  dataset?: string;
  tokenizer?: string;
  seed: string;
  maxOutput: string;
  maxConcurrency?: string;
  timeoutS: string;
  model?: string;
  header?: string[];
  requestIdPrefix: string;
  ignoreEos: boolean;
  output: string;
  saveJson?: string;
  saveDetailed?: boolean;
  metricPercentiles: string;
  quiet?: boolean;
  initialTest: boolean;
  gatewayLog?: string;
}

/** A number flag that may be `inf`. */
function rateLike(field: string, raw: string, what: string): number {
  if (/^\+?inf(inity)?$/i.test(raw.trim())) return Infinity;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v <= 0) throw new InputError(field, raw, `must be ${what} > 0 (or inf)`);
  return v;
}

function wholeFlag(field: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) throw new InputError(field, raw, `must be a whole number from ${min} to ${max}`);
  return v;
}

/** The endpoint URL: a base (`http://host:8000`, `.../v1`) gets the endpoint's path appended. */
export function endpointUrl(raw: string, endpoint: Endpoint): { post: URL; models: URL } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InputError('url', raw, 'not a URL (expected e.g. http://127.0.0.1:8000)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError('url', raw, 'must be an http:// or https:// URL');
  const path = u.pathname.replace(/\/+$/, '');
  const full = /\/v1\/(chat\/)?completions$/.test(path);
  const v1 = full ? path.replace(/\/(chat\/)?completions$/, '') : path.endsWith('/v1') ? path : `${path}/v1`;
  const post = new URL(u.href);
  post.pathname = full ? path : `${v1}/${endpoint === 'chat' ? 'chat/completions' : 'completions'}`;
  const models = new URL(u.href);
  models.pathname = `${v1}/models`;
  models.search = '';
  return { post, models };
}

/** GET /v1/models: checks that the server is reachable and names its first model. */
async function preflight(models: URL, headers: Record<string, string>, timeoutMs: number): Promise<string | null> {
  const agent = new Agent({ connectTimeout: timeoutMs });
  try {
    const res = await agent.request({ origin: models.origin, path: models.pathname, method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.body.text();
    if (res.statusCode !== 200) return null;
    try {
      const j = JSON.parse(text) as { data?: { id?: unknown }[] };
      const id = j.data?.[0]?.id;
      return typeof id === 'string' ? id : null;
    } catch {
      return null;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = err.code ?? err.cause?.code ?? err.name;
    throw new InputError('url', models.origin, `cannot reach the server (${code === 'TimeoutError' ? 'no answer' : code})`);
  } finally {
    await agent.destroy().catch(() => {});
  }
}

/**
 * One request before the run, as vllm bench serve's initial test: a wrong model name, endpoint or
 * header is a configuration problem (exit 2) rather than N failed requests, and the client's
 * code paths are warm when the schedule starts. It asks for one output token.
 */
async function initialTest(url: URL, headers: Record<string, string>, body: string, prefix: string, timeoutS: number): Promise<void> {
  const b = JSON.parse(body) as Record<string, unknown>;
  if ('max_tokens' in b) b.max_tokens = 1;
  if ('max_completion_tokens' in b) b.max_completion_tokens = 1;
  const agent = new Agent();
  try {
    const r = await sendRequest({
      dispatcher: agent, url, body: JSON.stringify(b), headers: { ...headers, 'x-request-id': `${prefix}initial-test` },
      timeoutMs: (timeoutS || 600) * 1000, signal: new AbortController().signal,
    });
    if (!r.ok) throw new InputError('url', url.href, `the initial test request failed (${r.error}); check --url, --endpoint, --model and --header`);
  } finally {
    await agent.destroy().catch(() => {});
  }
}

// Long on purpose: one command read top to bottom (flags -> plan -> server info -> run -> each
// output written on its own -> summary), each step a few lines with its own error handling.
export async function loadgenCommand(f: LoadgenFlags): Promise<void> {
  if (f.endpoint !== 'completions' && f.endpoint !== 'chat') throw new InputError('endpoint', f.endpoint, 'must be completions or chat');
  const endpoint = f.endpoint as Endpoint;
  const urls = endpointUrl(f.url, endpoint);
  const isTrace = f.trace !== undefined;
  if (isTrace && f.workload !== undefined) throw new InputError('workload', f.workload, 'give either --workload or --trace');
  if (f.dataset !== undefined && f.workload !== undefined) throw new InputError('workload', f.workload, 'give either --workload or --dataset');
  if (f.rate === undefined && !isTrace) throw new InputError('rate', f.rate, 'is required (req/s, or inf) unless --trace gives the timing');
  const rate = f.rate === undefined ? Infinity : rateLike('rate', f.rate, 'a rate in req/s');
  const burstiness = rateLike('burstiness', f.burstiness, 'a gamma shape');
  if (isTrace && f.burstiness !== '1') throw new InputError('burstiness', f.burstiness, 'does not apply to --trace (the trace gives the timing)');
  const requests = wholeFlag('requests', f.requests ?? (isTrace ? '0' : '1000'), isTrace ? 0 : 1, 10_000_000);
  const seed = wholeFlag('seed', f.seed, 0, 0xffffffff);
  const maxOutput = wholeFlag('max_output', f.maxOutput, 1, 1 << 30);
  const maxConcurrency = f.maxConcurrency === undefined ? 0 : wholeFlag('max_concurrency', f.maxConcurrency, 1, 1_000_000);
  const timeoutS = Number(f.timeoutS);
  if (f.timeoutS.trim() === '' || !Number.isFinite(timeoutS) || timeoutS < 0) throw new InputError('timeout_s', f.timeoutS, 'must be a time >= 0 s (0 = none)');
  const percentiles = f.metricPercentiles.split(',').map((p) => {
    const v = Number(p);
    if (p.trim() === '' || !(v > 0 && v <= 100)) throw new InputError('metric_percentiles', f.metricPercentiles, 'expected comma-separated percentiles in (0, 100], e.g. 50,90,99');
    return v;
  });
  const headers: Record<string, string> = {};
  if (process.env.OPENAI_API_KEY) headers.authorization = `Bearer ${process.env.OPENAI_API_KEY}`;
  for (const h of f.header ?? []) {
    const i = h.search(/[:=]/);
    if (i <= 0) throw new InputError('header', h, 'expected NAME:VALUE (or NAME=VALUE)');
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  checkPlanOptions({ endpoint, trace: f.trace, dataset: f.dataset, tokenizer: f.tokenizer });
  // Every output checked before anything is sent; none may be an input or another output.
  const inputs: NamedPath[] = [
    ...(f.trace !== undefined ? [{ what: 'the trace file', path: f.trace }] : []),
    ...(f.dataset !== undefined ? [{ what: 'the dataset', path: f.dataset }] : []),
    ...(f.tokenizer !== undefined ? [{ what: 'the tokenizer file', path: f.tokenizer }] : []),
    ...(f.gatewayLog !== undefined ? [{ what: 'the gateway log', path: f.gatewayLog }] : []),
  ];
  checkDistinct(
    [
      { what: 'the request log (-o)', target: checkOutputPath(f.output, 'output', { createDir: true }) },
      { what: 'the summary row', target: checkOutputPath(summaryPathFor(f.output), 'output', { createDir: true }) },
      ...(f.saveJson !== undefined ? [{ what: 'the JSON result (--save-json)', target: checkOutputPath(f.saveJson, 'save_json', { createDir: true, stdout: true }) }] : []),
    ],
    inputs,
  );

  const served = await preflight(urls.models, headers, 10_000);
  const model = f.model ?? served;
  if (model === null) throw new InputError('model', f.model, `not given, and ${urls.models.href} names no model; pass --model NAME`);

  const plan = buildPlan({ endpoint, model, requests, rate, burstiness, seed, maxOutput, ignoreEos: f.ignoreEos, workload: f.workload, trace: f.trace, dataset: f.dataset, tokenizer: f.tokenizer });
  const total = plan.requests.length;
  const settings: RunSettings = {
    url: urls.post.href, endpoint, model, requests: total, rate, burstiness, seed, maxConcurrency, timeoutS, maxOutput,
    source: { kind: plan.kind, path: plan.source }, tokenizer: f.tokenizer ?? null, requestIdPrefix: f.requestIdPrefix, interrupted: false,
  };
  const lastOffsetS = total ? plan.requests[total - 1].offsetUs / 1e6 : 0;
  if (isTrace && f.rate === undefined && total >= 2 && lastOffsetS > 0) settings.offeredRate = (total - 1) / lastOffsetS;
  if (!f.quiet) {
    process.stderr.write(`loadgen: ${total} requests to ${urls.post.href} (${plan.kind} ${plan.source}, ` +
      `${isTrace ? 'trace timing' : `rate ${rate} req/s, burstiness ${burstiness}`}, sending over ${lastOffsetS.toFixed(1)} s)\n`);
  }

  if (f.initialTest && total > 0) await initialTest(urls.post, headers, plan.requests[0].body, f.requestIdPrefix, timeoutS);
  // The server's configuration and /metrics before the first request (after the initial test, so
  // the histogram deltas cover exactly the run) and after the last one.
  const serverStart = await fetchServerSnapshot(urls.post, headers);

  const ctl = new AbortController();
  const onSigint = () => {
    if (!ctl.signal.aborted) process.stderr.write('\nloadgen: interrupted; cancelling in-flight requests\n');
    ctl.abort();
  };
  process.once('SIGINT', onSigint);
  const bar = createProgressBar('loadgen', { quiet: f.quiet });
  let out;
  try {
    out = await runPlan(plan.requests, {
      url: urls.post,
      headers,
      timeoutS,
      maxConcurrency,
      requestIdPrefix: f.requestIdPrefix,
      signal: ctl.signal,
      onDone: (d, t) => bar.update(d, t),
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    bar.finish();
  }
  settings.interrupted = out.interrupted;
  const serverEnd = serverStart.metrics !== null ? await fetchServerSnapshot(urls.post, headers, 5000, { models: false }) : null;
  settings.server = serverMetadata(serverStart, serverEnd);
  const records = out.records;
  if (f.gatewayLog !== undefined) {
    // Ranks the gateway chose, joined on x-request-id. The run is done: a bad log is a warning.
    try {
      const g = readGatewayLog(f.gatewayLog);
      let found = 0;
      for (const r of records) {
        const rank = g.rankById.get(`${f.requestIdPrefix}${r.index}`);
        if (rank !== undefined) {
          r.rank = rank;
          found++;
        }
      }
      settings.gateway = { router: g.router, routerParams: g.routerParams, ranks: g.ranks, admission: g.admission, waveTimeoutMs: g.waveTimeoutMs };
      if (found < records.length) process.stderr.write(`loadgen: warning: the gateway log has a rank for ${found} of ${records.length} requests (is the gateway still flushing it?)\n`);
    } catch (e) {
      process.stderr.write(`loadgen: warning: ranks not joined: ${(e as Error).message}\n`);
    }
  }
  const lastEnd = records.reduce((m, r) => Math.max(m, r.ok ? r.sendUs + r.latencyMs * 1000 : r.finishUs), 0);
  const durationS = Math.max(1e-9, lastEnd / 1e6);
  const lag = stats(records.map((r) => (r.sendUs - r.scheduledUs) / 1000));
  const sendLagP99Ms = Number.isFinite(lag.percentile(99)) ? lag.percentile(99) : null;
  const summary = summaryTable(summaryMetrics(records, out.wallMs), settings, { durationS, sendLagP99Ms });
  const bench = benchMetrics(records, durationS, percentiles);
  // Each output is written on its own: one that fails (a full disk) does not stop the others,
  // and the summary is printed whatever happened; the failures are reported at the end.
  const failed: InputError[] = [];
  const attempt = (write: () => void) => {
    try {
      write();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      failed.push(e);
    }
  };
  if (f.saveJson) attempt(() => writeBenchJson(f.saveJson!, benchJson(bench, records, settings, f.saveDetailed === true)));
  attempt(() => writeMeasured(f.output, records, settings, summary));

  if (!f.quiet || out.interrupted || failed.length > 0) {
    const say = messageStream();
    say.write(formatBenchBlock(bench, settings, percentiles) + '\n');
    for (const l of formatFailures(records)) say.write(l + '\n');
    if (records.length) {
      say.write(`send lag vs schedule (ms): p50 ${lag.median.toFixed(3)}  p99 ${lag.percentile(99).toFixed(3)}  max ${lag.percentile(100).toFixed(3)}\n`);
    }
  }
  if (failed.length > 0) {
    for (const e of failed.slice(1)) process.stderr.write(`balanceroute: ${e.message}\n`);
    throw failed[0]; // printed by main(), exit 2
  }
  const files = `${f.output} (+ ${summaryPathFor(f.output)}${f.saveJson ? `, ${f.saveJson}` : ''})`;
  if (out.interrupted) {
    process.stderr.write(`loadgen: interrupted: wrote the ${records.length} finished requests to ${files}; ${out.cancelled} cancelled in flight, ${out.notSent} not sent\n`);
    process.exit(130);
  }
  if (!f.quiet) process.stderr.write(`loadgen: wrote ${records.length} requests to ${files}\n`);
}
