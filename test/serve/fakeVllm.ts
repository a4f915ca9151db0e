// A small stand-in for a vLLM OpenAI server, for gateway tests: /v1/completions and
// /v1/chat/completions (streaming with vLLM's SSE framing, or JSON), /v1/models, /health, and a
// /metrics page in vLLM's exposition format with one `engine` label per DP rank. It honours
// X-data-parallel-rank like vLLM (local index, 400 when out of range), counts requests per
// engine, can be killed and restarted on the same port, and can be told to fail.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeVllmOptions {
  /** Engine labels this server exports (global DP ranks), e.g. [0] or [0, 1, 2, 3]. */
  engines?: number[];
  /** Delay between streamed tokens, ms. */
  tokenDelayMs?: number;
  /** Use the pre-0.9 KV metric name vllm:gpu_cache_usage_perc. */
  oldMetricNames?: boolean;
  /** Add extra labels (pid, a multiprocess-mode sample) to the gauges. */
  extraLabels?: boolean;
  /** Required bearer key (vLLM --api-key). */
  apiKey?: string;
  model?: string;
  numGpuBlocks?: number;
  blockSize?: number;
}

/** Prometheus value text as Python's client writes it (7 -> 7.0). */
const num = (v: number): string => (Number.isInteger(v) ? v.toFixed(1) : String(v));

export type Failure =
  | { kind: 'status'; status: number } // answer with an error status before any byte
  | { kind: 'reset_before' } // destroy the socket before answering
  | { kind: 'reset_after'; tokens: number }; // destroy the socket after streaming `tokens` tokens

export interface SeenRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  engine: number;
}

export class FakeVllm {
  readonly engines: number[];
  readonly opts: Required<Omit<FakeVllmOptions, 'apiKey'>> & { apiKey?: string };
  /** Requests completed per engine label. */
  readonly completed = new Map<number, number>();
  /** Requests received per engine label. */
  readonly received = new Map<number, number>();
  readonly seen: SeenRequest[] = [];
  /** Upstream requests whose client went away before the end. */
  aborted = 0;
  /** Override gauges: engine -> {running, waiting, kv}. */
  gauges = new Map<number, { running: number; waiting: number; kv: number }>();
  /** Failures to inject, consumed one per routed request. */
  failures: Failure[] = [];
  healthy = true;
  port = 0;
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  private active = new Map<number, number>();
  private rr = 0;

  constructor(opts: FakeVllmOptions = {}) {
    this.engines = opts.engines ?? [0];
    this.opts = {
      engines: this.engines,
      tokenDelayMs: opts.tokenDelayMs ?? 0,
      oldMetricNames: opts.oldMetricNames ?? false,
      extraLabels: opts.extraLabels ?? false,
      apiKey: opts.apiKey,
      model: opts.model ?? 'fake-model',
      numGpuBlocks: opts.numGpuBlocks ?? 1000,
      blockSize: opts.blockSize ?? 16,
    };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listen (on `port`, or the previous port after kill(), or any free port). */
  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stop abruptly: open connections are reset, new ones refused. */
  async kill(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const sock of this.sockets) sock.destroy();
    await closed;
  }

  stop(): Promise<void> {
    return this.kill();
  }

  total(map: Map<number, number>): number {
    let n = 0;
    for (const v of map.values()) n += v;
    return n;
  }

  private metrics(): string {
    const m = this.opts.model;
    const extra = this.opts.extraLabels ? ',pid="4242"' : '';
    const kvName = this.opts.oldMetricNames ? 'vllm:gpu_cache_usage_perc' : 'vllm:kv_cache_usage_perc';
    const lines: string[] = [];
    const gauge = (name: string, help: string, v: (e: number) => number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      // Label order differs between vLLM versions; put engine last here.
      for (const e of this.engines) lines.push(`${name}{model_name="${m}"${extra},engine="${e}"} ${num(v(e))}`);
    };
    const g = (e: number) => this.gauges.get(e);
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', (e) => g(e)?.running ?? this.active.get(e) ?? 0);
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', (e) => g(e)?.waiting ?? 0);
    gauge(kvName, 'KV-cache usage. 1 means 100 percent usage.', (e) => g(e)?.kv ?? Math.min(1, (this.active.get(e) ?? 0) / 100));
    lines.push('# HELP vllm:num_requests_waiting_by_reason Requests waiting by reason.', '# TYPE vllm:num_requests_waiting_by_reason gauge');
    for (const e of this.engines) lines.push(`vllm:num_requests_waiting_by_reason{engine="${e}",model_name="${m}",reason="capacity"} 99.0`);
    lines.push('# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig', '# TYPE vllm:cache_config_info gauge');
    for (const e of this.engines) {
      lines.push(`vllm:cache_config_info{block_size="${this.opts.blockSize}",cache_dtype="auto",engine="${e}",gpu_memory_utilization="0.9",num_gpu_blocks="${this.opts.numGpuBlocks}",prefix_caching_hash_algo="sha256"} 1.0`);
    }
    lines.push('# HELP vllm:iteration_tokens_total Histogram of tokens per engine_step.', '# TYPE vllm:iteration_tokens_total histogram');
    for (const e of this.engines) {
      lines.push(`vllm:iteration_tokens_total_bucket{engine="${e}",le="1.0",model_name="${m}"} 3.0`, `vllm:iteration_tokens_total_bucket{engine="${e}",le="+Inf",model_name="${m}"} 7.0`);
      lines.push(`vllm:iteration_tokens_total_count{engine="${e}",model_name="${m}"} 7.0`, `vllm:iteration_tokens_total_sum{engine="${e}",model_name="${m}"} 42.0`);
    }
    lines.push('# HELP vllm:request_success_total Count of successfully processed requests.', '# TYPE vllm:request_success_total counter');
    for (const e of this.engines) lines.push(`vllm:request_success_total{engine="${e}",finished_reason="length",model_name="${m}"} ${(this.completed.get(e) ?? 0).toFixed(1)}`);
    return lines.join('\n') + '\n';
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      res.writeHead(this.healthy ? 200 : 503);
      res.end();
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(this.metrics());
      return;
    }
    if (this.opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.opts.apiKey}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Unauthorized' }));
      return;
    }
    if (path === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: this.opts.model, object: 'model', owned_by: 'vllm' }] }));
      return;
    }
    if (path !== '/v1/completions' && path !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Not Found', code: 404 } }));
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => this.complete(req, res, path, JSON.parse(Buffer.concat(parts).toString('utf8'))));
  }

  private complete(req: IncomingMessage, res: ServerResponse, path: string, body: Record<string, unknown>): void {
    const hdr = req.headers['x-data-parallel-rank'];
    let engine: number;
    if (hdr !== undefined) {
      const r = Number(hdr);
      if (!Number.isInteger(r) || r < 0 || r >= this.engines.length) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `data_parallel_rank ${hdr} is out of range [0, ${this.engines.length}).`, code: 400 } }));
        return;
      }
      engine = this.engines[r];
    } else engine = this.engines[this.rr++ % this.engines.length];
    this.seen.push({ path, headers: req.headers, body, engine });
    this.received.set(engine, (this.received.get(engine) ?? 0) + 1);
    const failure = this.failures.shift();
    if (failure?.kind === 'status') {
      res.writeHead(failure.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'injected failure', code: failure.status } }));
      return;
    }
    if (failure?.kind === 'reset_before') {
      req.socket.destroy();
      return;
    }
    const chat = path === '/v1/chat/completions';
    const n = Number(body.max_tokens ?? body.max_completion_tokens ?? 16);
    const prompt = chat ? 10 : Array.isArray(body.prompt) ? body.prompt.length : Math.ceil(String(body.prompt ?? '').length / 4);
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${this.seen.length}`;
    const created = 1_700_000_000;
    const model = String(body.model ?? this.opts.model);
    const usage = { prompt_tokens: prompt, total_tokens: prompt + n, completion_tokens: n };
    const resetAfter = failure?.kind === 'reset_after' ? failure.tokens : -1;
    this.active.set(engine, (this.active.get(engine) ?? 0) + 1);
    let finished = false;
    const done = (ok: boolean) => {
      if (finished) return;
      finished = true;
      this.active.set(engine, (this.active.get(engine) ?? 1) - 1);
      if (ok) this.completed.set(engine, (this.completed.get(engine) ?? 0) + 1);
      else this.aborted++;
    };
    res.on('close', () => done(res.writableFinished));
    if (body.stream !== true) {
      const text = Array.from({ length: n }, (_, i) => ` t${i}`).join('');
      const choice = chat ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'length' } : { index: 0, text, logprobs: null, finish_reason: 'length', stop_reason: null };
      const out = JSON.stringify({ id, object: chat ? 'chat.completion' : 'text_completion', created, model, choices: [choice], usage });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-fake-engine': String(engine) });
        res.end(out);
      }, this.opts.tokenDelayMs * n);
      return;
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    // A response header declared hop-by-hop through Connection: a proxy must not pass it on.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-fake-engine': String(engine), connection: 'keep-alive, x-fake-hop', 'x-fake-hop': 'yes' });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
    let i = 0;
    const step = () => {
      if (res.destroyed) return;
      if (i === resetAfter) {
        req.socket.destroy();
        return;
      }
      if (i < n) {
        let s = '';
        if (chat && i === 0) s += chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
        const last = i === n - 1;
        s += chat
          ? chunk([{ index: 0, delta: { content: ` t${i}` }, logprobs: null, finish_reason: last ? 'length' : null }])
          : chunk([{ index: 0, text: ` t${i}`, logprobs: null, finish_reason: last ? 'length' : null, stop_reason: null }]);
        res.write(s);
        i++;
        if (this.opts.tokenDelayMs > 0) setTimeout(step, this.opts.tokenDelayMs);
        else setImmediate(step);
        return;
      }
      if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
    };
    step();
  }
}
