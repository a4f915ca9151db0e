/**
 * The emulator's HTTP side: vLLM's OpenAI-compatible API in front of the real-time driver.
 *
 * lb 'internal': one port for every rank, like `vllm serve --data-parallel-size N`; a request
 * goes to the rank its `X-data-parallel-rank` header names, else the scenario's router decides.
 * lb 'external': one port per rank (port + r), like vLLM's external-LB mode; each port pins its
 * requests to its own rank and exports only its own engine's metrics.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, errorBody } from '../openai/errors.ts';
import { chatRequest, checkStreamOptions, completionRequest, parseBody } from '../openai/schemas.ts';
import { chatPromptTokens, completionPromptTokens, type TokenCounter } from '../openai/promptTokens.ts';
import {
  fullResponse,
  modelList,
  newResponseId,
  SSE_DONE,
  SseChunks,
  sseError,
  usageOf,
  type Endpoint,
  type FinishReason,
} from '../openai/responses.ts';
import type { CoreEvents, CoreOutcome } from './coreApi.ts';
import { RealTimeDriver, type CoreFactory, type EngineDriver, type RequestSink } from './driver.ts';
import type { Scenario } from '../../config/scenario.ts';
import { WorkerDriver } from './workerDriver.ts';
import { EndpointMetrics } from './metrics.ts';
import { outputTokens, type OutputSampler } from './outputLength.ts';
import type { Sync } from './coreApi.ts';

export type LbMode = 'internal' | 'external';

/** Run the scenario's engine core on a worker thread (the default of `emulate`). */
export interface WorkerCore {
  worker: Scenario;
}

export interface EmulatorConfig {
  /**
   * The engine core (the same core the offline engine drives): a factory called with the
   * driver's events runs it on the HTTP thread; `{ worker: scenario }` runs the scenario's core
   * on its own engine thread.
   */
  core: CoreFactory | WorkerCore;
  dp: number;
  sync: Sync;
  speed: number;
  lb: LbMode;
  host: string;
  /** First port (0 = ephemeral; external mode: every port ephemeral). */
  port: number;
  servedModelName: string;
  /**
   * The step-time model (preset name or model file) behind the emulator, reported on /version so
   * that a load run's log can name it (`predict`, `calibrate --from-run`).
   */
  stepModel?: string;
  maxModelLen: number;
  /** KV capacity per rank in tokens: a request longer than this can never run. */
  kvCapacity: number;
  blockSize: number;
  tokens: TokenCounter;
  outputLength: OutputSampler;
  /** Largest accepted request body in bytes. */
  maxBodyBytes: number;
  /** Keep the arrival log (driver.arrivals). */
  record?: boolean;
  /** Extra observers of every core event (tests, logs), called after the emulator's own. */
  observers?: CoreEvents;
  /** The engine worker failed and the emulator cannot step any more (default: print it). */
  onFatal?: (e: Error) => void;
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** vLLM's default max_tokens for /v1/completions. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

interface Port {
  server: Server;
  /** Rank this port pins to (external mode), or undefined (internal). */
  rank: number | undefined;
  metrics: EndpointMetrics;
}

interface Active {
  shutdown(): void;
}

export class Emulator {
  readonly driver: EngineDriver;
  private readonly ports: Port[] = [];
  private readonly metricsOfRank: EndpointMetrics[] = [];
  private readonly active = new Set<Active>();
  private readonly created = Math.floor(Date.now() / 1000);
  private closing = false;
  // Per-request times for the latency histograms (engine µs), by id.
  private readonly rankOf: number[] = [];
  private readonly lastTokenUs: number[] = [];
  private readonly firstTokenUs: number[] = [];
  // The engine core's queued_us and scheduled_us (vLLM queued_ts / scheduled_ts), for
  // vllm:request_queue_time_seconds and vllm:request_prefill_time_seconds.
  private readonly queuedUs: number[] = [];
  private readonly scheduledUs: number[] = [];
  // vllm:iteration_tokens_total: each request's prompt length, and each rank's tokens in the step
  // that is ending (its first token counts the prompt, as vLLM's IterationStats).
  private readonly promptOf: number[] = [];
  private readonly stepTokens: Float64Array;

  constructor(readonly cfg: EmulatorConfig) {
    this.stepTokens = new Float64Array(cfg.dp);
    const observers: CoreEvents = {
        onRoute: (id, rank, t) => {
          this.rankOf[id] = rank;
          cfg.observers?.onRoute?.(id, rank, t);
        },
        onToken: (id, emitted, t) => {
          const g = this.rankOf[id];
          const m = this.metricsOfRank[g];
          this.stepTokens[g] += emitted === 1 ? 1 + (this.promptOf[id] ?? 0) : 1;
          if (emitted === 1) {
            m?.firstToken(g, (t - this.driver.arrivalUs[id]) / 1e6);
            this.firstTokenUs[id] = t;
          } else m?.interToken(g, (t - this.lastTokenUs[id]) / 1e6);
          this.lastTokenUs[id] = t;
          cfg.observers?.onToken?.(id, emitted, t);
        },
        onFinish: (id, outcome, t) => cfg.observers?.onFinish?.(id, outcome, t),
        onPreempt: (id, rank, t) => cfg.observers?.onPreempt?.(id, rank, t),
        onQueued: (id, rank, t) => {
          this.queuedUs[id] = t;
          cfg.observers?.onQueued?.(id, rank, t);
        },
        onScheduled: (id, rank, t) => {
          this.scheduledUs[id] = t;
          cfg.observers?.onScheduled?.(id, rank, t);
        },
        onStepEnd: (t) => {
          for (let g = 0; g < this.stepTokens.length; g++) {
            if (this.stepTokens[g] === 0) continue;
            this.metricsOfRank[g]?.iterationTokens(g, this.stepTokens[g]);
            this.stepTokens[g] = 0;
          }
          cfg.observers?.onStepEnd?.(t);
        },
    };
    const { core } = cfg;
    this.driver =
      typeof core === 'function'
        ? new RealTimeDriver(core, { speed: cfg.speed, sync: cfg.sync, record: cfg.record, observers })
        : new WorkerDriver(cfg.dp, { scenario: core.worker, speed: cfg.speed, sync: cfg.sync, record: cfg.record, observers, onFatal: cfg.onFatal });
    const source = this.driver;
    const numBlocks = Math.floor(cfg.kvCapacity / cfg.blockSize);
    const cache = { blockSize: cfg.blockSize, numGpuBlocks: numBlocks };
    if (cfg.lb === 'internal') {
      const all = Array.from({ length: cfg.dp }, (_, g) => g);
      const m = new EndpointMetrics(cfg.servedModelName, all, source, cache, cfg.maxModelLen);
      for (const g of all) this.metricsOfRank[g] = m;
      this.ports.push({ server: this.newServer(), rank: undefined, metrics: m });
    } else {
      for (let g = 0; g < cfg.dp; g++) {
        const m = new EndpointMetrics(cfg.servedModelName, [g], source, cache, cfg.maxModelLen);
        this.metricsOfRank[g] = m;
        this.ports.push({ server: this.newServer(), rank: g, metrics: m });
      }
    }
  }

  private newServer(): Server {
    // A long keep-alive: a client that reuses an idle connection just as the server closes it
    // gets ECONNRESET on a POST (not retried); on a loaded machine 5 s (uvicorn's default) is
    // too close to clients' own idle timeouts.
    return createServer({ noDelay: true, keepAliveTimeout: 30_000 });
  }

  /** Bind every port; returns the bound port numbers (rank order in external mode). */
  async start(): Promise<number[]> {
    await this.driver.ready();
    const bound: number[] = [];
    for (let i = 0; i < this.ports.length; i++) {
      const p = this.ports[i];
      p.server.on('request', (req, res) => this.handle(p, req, res));
      const want = this.cfg.port === 0 ? 0 : this.cfg.port + i;
      await new Promise<void>((resolve, reject) => {
        p.server.once('error', reject);
        p.server.listen(want, this.cfg.host, () => {
          p.server.off('error', reject);
          resolve();
        });
      });
      bound.push((p.server.address() as AddressInfo).port);
    }
    return bound;
  }

  /**
   * Graceful stop: stop accepting, let requests in flight finish for up to `graceMs`, then end
   * the rest (streams get vLLM's error event and `[DONE]`, others a 503), close the connections
   * and the step timers.
   */
  async stop(graceMs = 0): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = this.ports.map((p) => new Promise<void>((resolve) => p.server.close(() => resolve())));
    // Drain: requests in flight may finish within the grace period (new ones get a 503).
    for (const p of this.ports) p.server.closeIdleConnections();
    for (const end = Date.now() + graceMs; this.active.size > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    const driverStopped = this.driver.stop();
    for (const a of [...this.active]) a.shutdown();
    for (const p of this.ports) p.server.closeIdleConnections();
    // Give the final writes a moment to flush, then drop whatever is left.
    await new Promise((r) => setTimeout(r, 50));
    for (const p of this.ports) p.server.closeAllConnections();
    await Promise.all([...closed, driverStopped]);
  }

  // ---- routing ----

  private handle(port: Port, req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const method = req.method ?? 'GET';
    if (this.closing) {
      res.setHeader('connection', 'close');
      sendError(res, new ApiError(503, 'The server is shutting down.'));
      return;
    }
    const route = ROUTES[path];
    if (!route) {
      sendJson(res, 404, { detail: 'Not Found' });
      req.resume();
      return;
    }
    if (!route.includes(method)) {
      sendJson(res, 405, { detail: 'Method Not Allowed' });
      req.resume();
      return;
    }
    switch (path) {
      case '/health':
        res.writeHead(200, { 'content-length': '0' }).end();
        return;
      case '/v1/models':
        sendJson(res, 200, modelList(this.cfg.servedModelName, this.created, this.cfg.maxModelLen));
        return;
      case '/version':
        // vLLM answers {version}; the rest says what a load run's log records about the server.
        sendJson(res, 200, {
          version: 'balanceroute-emulate',
          ...(this.cfg.stepModel !== undefined ? { step_model: this.cfg.stepModel } : {}),
          data_parallel_size: this.cfg.dp,
          speed: this.cfg.speed,
        });
        return;
      case '/metrics':
        port.metrics.exposition().then(
          (text) => {
            res.writeHead(200, { 'content-type': port.metrics.contentType }).end(text);
          },
          (e: Error) => sendError(res, new ApiError(500, `metrics: ${e.message}`)),
        );
        return;
      case '/v1/completions':
        this.generate(port, 'completion', req, res);
        return;
      case '/v1/chat/completions':
        this.generate(port, 'chat', req, res);
        return;
      case '/tokenize':
      case '/detokenize':
        readBody(req, this.cfg.maxBodyBytes).then(
          (buf) => {
            try {
              sendJson(res, 200, this.tokenizeRoute(path, buf));
            } catch (e) {
              sendError(res, e instanceof ApiError ? e : new ApiError(500, (e as Error).message));
            }
          },
          (e: unknown) => (e instanceof ApiError ? sendError(res, e) : res.destroy()),
        );
        return;
    }
  }

  /**
   * vLLM's POST /tokenize ({prompt} or {messages}, add_special_tokens) -> {count, max_model_len,
   * tokens, token_strs} and POST /detokenize ({tokens}) -> {prompt}, with --tokenizer's tokenizer.
   */
  private tokenizeRoute(path: string, buf: Buffer): unknown {
    const { encode, decode } = this.cfg.tokens;
    if (!encode || !decode) throw new ApiError(400, 'This emulator has no tokenizer; start it with --tokenizer tokenizer.json.');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ApiError(400, `JSON decode error: ${(e as Error).message}`);
    }
    if (body === null || typeof body !== 'object') throw new ApiError(400, 'The request body must be a JSON object.');
    if (body.model != null && body.model !== this.cfg.servedModelName) throw new ApiError(404, `The model \`${String(body.model)}\` does not exist.`, 'model');
    if (path === '/detokenize') {
      const t = body.tokens;
      if (!Array.isArray(t) || !t.every((x) => Number.isInteger(x) && x >= 0)) throw new ApiError(400, 'tokens must be a list of token ids.', 'tokens');
      return { prompt: decode(t as number[]) };
    }
    let text: string;
    if (typeof body.prompt === 'string') text = body.prompt;
    else if (Array.isArray(body.messages)) {
      text = (body.messages as { content?: unknown }[]).map((m) => (typeof m?.content === 'string' ? m.content : Array.isArray(m?.content) ? (m.content as { text?: unknown }[]).map((p) => (typeof p?.text === 'string' ? p.text : '')).join('') : '')).join('\n');
    } else throw new ApiError(400, 'Give a prompt (string) or messages.', 'prompt');
    const tokens = encode(text, body.add_special_tokens !== false);
    return { count: tokens.length, max_model_len: this.cfg.maxModelLen, tokens, token_strs: null };
  }

  private generate(port: Port, kind: Endpoint, req: IncomingMessage, res: ServerResponse): void {
    readBody(req, this.cfg.maxBodyBytes).then(
      (buf) => {
        // The request arrives now: parsing and tokenising it are vLLM's front end, whose time is
        // not engine time (docs/emulate.md), so a slow tokenizer does not delay its first step.
        const arrivedUs = this.driver.engineNow();
        try {
          this.startRequest(port, kind, req, res, buf, arrivedUs);
        } catch (e) {
          if (e instanceof ApiError) sendError(res, e);
          else sendError(res, new ApiError(500, (e as Error).message));
        }
      },
      (e: unknown) => {
        if (e instanceof ApiError) {
          res.setHeader('connection', 'close'); // the rest of an oversized body is not read
          sendError(res, e);
        } else {
          res.destroy();
        }
      },
    );
  }

  // Long on purpose: one request's lifecycle (submit, stream, finish, abort) as closures over
  // its own state, the way the engine's events reach it.
  private startRequest(port: Port, kind: Endpoint, req: IncomingMessage, res: ServerResponse, buf: Buffer, arrivedUs: number): void {
    const cfg = this.cfg;
    let body: unknown;
    try {
      body = JSON.parse(buf.toString('utf8'));
    } catch (e) {
      throw new ApiError(400, `JSON decode error: ${(e as Error).message}`);
    }
    const r = kind === 'chat' ? parseBody(chatRequest, body) : parseBody(completionRequest, body);
    checkStreamOptions(r);
    if (r.model != null && r.model !== cfg.servedModelName) {
      throw new ApiError(404, `The model \`${r.model}\` does not exist.`, 'model');
    }
    const rank = this.pinnedRank(port, req.headers['x-data-parallel-rank']);
    const prompt =
      kind === 'chat'
        ? chatPromptTokens((r as { messages: Parameters<typeof chatPromptTokens>[0] }).messages, cfg.tokens)
        : completionPromptTokens((r as { prompt: Parameters<typeof completionPromptTokens>[0] }).prompt, cfg.tokens);
    if (prompt >= cfg.maxModelLen) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${cfg.maxModelLen} tokens. However, your request has ${prompt} input tokens. Please reduce the length of the input messages.`,
      );
    }
    const asked = kind === 'chat' ? ((r as { max_completion_tokens?: number | null }).max_completion_tokens ?? r.max_tokens) : r.max_tokens;
    // vLLM: an absent max_tokens is 16 on /v1/completions; null (or absent on chat) is the rest
    // of the context.
    const maxTokens = asked ?? (kind === 'completion' && asked === undefined ? COMPLETIONS_DEFAULT_MAX_TOKENS : cfg.maxModelLen - prompt);
    if (prompt + maxTokens > cfg.maxModelLen) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${cfg.maxModelLen} tokens. However, you requested ${prompt + maxTokens} tokens (${prompt} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
        kind === 'chat' ? 'max_completion_tokens' : 'max_tokens',
      );
    }
    const out = outputTokens(r.ignore_eos === true, maxTokens, cfg.outputLength);
    if (prompt + out > cfg.kvCapacity) {
      throw new ApiError(
        400,
        `The request needs ${prompt + out} tokens of KV cache (${prompt} prompt + ${out} output) but a rank holds ${cfg.kvCapacity} (--kv-capacity).`,
      );
    }
    const finish: FinishReason = out === maxTokens ? 'length' : 'stop';
    const stream = r.stream === true;
    const includeUsage = stream && r.stream_options?.include_usage === true;
    const id = newResponseId(kind);
    const created = Math.floor(Date.now() / 1000);
    const model = cfg.servedModelName;
    const continuous = includeUsage && r.stream_options?.continuous_usage_stats === true;
    const words = cfg.tokens.fillerWords;
    const chunks = stream ? new SseChunks(kind, id, model, created, includeUsage, continuous, prompt, words) : undefined;

    let done = false;
    let reqId = -1;
    const active: Active = {
      shutdown: () => {
        if (done) return;
        done = true;
        if (chunks) res.end(sseError('The server is shutting down.', 'ServiceUnavailableError', 503) + SSE_DONE);
        else sendError(res, new ApiError(503, 'The server is shutting down.'));
      },
    };
    const finishWith = (outcome: CoreOutcome, emitted: number, tUs: number) => {
      this.active.delete(active);
      const g = this.rankOf[reqId];
      const arrival = this.driver.arrivalUs[reqId];
      // vLLM's definitions (docs/model.md §8): queue = scheduled - queued, prefill = first token -
      // scheduled, inference = end - scheduled; a request never scheduled has none of them.
      const admit = this.scheduledUs[reqId];
      const queued = this.queuedUs[reqId] ?? arrival;
      const first = this.firstTokenUs[reqId];
      const admitted = admit !== undefined && admit >= 0;
      this.metricsOfRank[g]?.finished(
        g,
        outcome,
        outcome === 'completed' ? finish : 'abort',
        (tUs - arrival) / 1e6,
        admitted ? (admit - queued) / 1e6 : undefined,
        admitted ? (tUs - admit) / 1e6 : undefined,
        admitted && first !== undefined ? (first - admit) / 1e6 : undefined,
        {
          promptTokens: prompt,
          generationTokens: emitted,
          maxTokens,
          decodeSeconds: this.firstTokenUs[reqId] !== undefined ? ((this.lastTokenUs[reqId] ?? tUs) - this.firstTokenUs[reqId]) / 1e6 : undefined,
        },
      );
      if (done) return;
      done = true;
      if (outcome === 'completed') {
        const usage = usageOf(prompt, emitted);
        if (chunks) res.end(includeUsage ? chunks.usage(usage) + SSE_DONE : SSE_DONE);
        else sendJson(res, 200, fullResponse(kind, id, model, created, emitted, finish, usage, words));
        return;
      }
      const [status, message] =
        outcome === 'timeout'
          ? [408, `The request timed out in the engine after ${emitted} output tokens (--timeout-s).`]
          : outcome === 'rejected'
            ? [400, 'The engine rejected the request: it can never fit in a rank\'s KV cache.']
            : [500, 'The request was aborted.'];
      if (chunks) res.end(sseError(message, status === 408 ? 'RequestTimeout' : 'BadRequestError', status) + SSE_DONE);
      else sendError(res, new ApiError(status, message));
    };

    if (chunks) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.flushHeaders();
    }
    let emittedSoFar = 0;
    const sink: RequestSink = {
      onToken: (emitted) => {
        emittedSoFar = emitted;
        if (!chunks || done) return;
        const last = emitted === out;
        let s = chunks.token(emitted - 1, last ? finish : null);
        if (emitted === 1 && kind === 'chat') s = chunks.role() + s;
        res.write(s);
      },
      onFinish: (outcome, t) => finishWith(outcome, emittedSoFar, t),
    };
    reqId = this.driver.submit({ promptTokens: prompt, outputTokens: out, rank }, sink, arrivedUs);
    this.promptOf[reqId] = prompt;
    this.active.add(active);
    res.on('close', () => {
      if (done) return;
      // The client went away before the end: the request leaves the engine (vLLM aborts it).
      done = true;
      this.active.delete(active);
      this.driver.abort(reqId);
      const g = this.rankOf[reqId];
      if (g !== undefined) {
        const t = this.driver.engineNow();
        this.metricsOfRank[g]?.finished(g, 'aborted', 'abort', (t - this.driver.arrivalUs[reqId]) / 1e6, undefined, undefined);
      }
    });
  }

  /**
   * The rank a request is pinned to. External mode: the port's rank. Internal mode: the
   * `X-data-parallel-rank` header as vLLM reads it (Python int(): a non-integer is ignored, an
   * integer outside [0, dp) is a 400).
   */
  private pinnedRank(port: Port, header: string | string[] | undefined): number | undefined {
    const raw = Array.isArray(header) ? header[0] : header;
    let r: number | undefined;
    if (raw !== undefined && /^\s*[+-]?\d+(?:_\d+)*\s*$/.test(raw)) r = Number(raw.trim().replace(/_/g, ''));
    if (r !== undefined && !(r >= 0 && r < this.cfg.dp)) {
      throw new ApiError(400, `data_parallel_rank ${r} is out of range [0, ${this.cfg.dp}).`, 'X-data-parallel-rank');
    }
    return port.rank ?? r;
  }
}

const ROUTES: Record<string, string[]> = {
  '/health': ['GET'],
  '/v1/models': ['GET'],
  '/version': ['GET'],
  '/metrics': ['GET'],
  '/v1/completions': ['POST'],
  '/v1/chat/completions': ['POST'],
  '/tokenize': ['POST'],
  '/detokenize': ['POST'],
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) }).end(s);
}

function sendError(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.status, errorBody(e));
}

/** The request body, or an ApiError(413) past `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => new ApiError(413, `The request body exceeds the limit of ${limit} bytes (--max-body-bytes).`);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge());
        return;
      }
      parts.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    });
    req.on('error', (e) => {
      if (!failed) {
        failed = true;
        reject(e);
      }
    });
  });
}
