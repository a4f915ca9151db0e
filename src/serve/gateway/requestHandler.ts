// One routed completion request (POST /v1/completions, /v1/chat/completions), in phases:
//   read   the body (bounded), count prompt tokens, take the request id and a pinned rank
//   hold   (--admission wave only) until the request's wave is released (wave.ts)
//   choose a rank: RoutingState.decide (the same RouterView and router function as the simulator)
//   attempt the upstream exchange; one that fails before any byte reached the client is retried
//          once on the next-best rank (the failed one excluded)
//   stream the response through as it arrives while the output counter updates the rank's KV load
//   finish one decision-log row, metrics, the flight released from the routing view.
// Per-request state lives on the RequestHandler; what all requests share is the GatewayContext.
// One upstream exchange is an UpstreamAttempt whose phases take undici's dispatch-handler names
// (onHeaders, onData, onComplete, onError).
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { RANK_HEADER, type GatewayContext } from './context.ts';
import type { DecisionRow, Outcome } from './decisionLog.ts';
import { BodyTooLarge, forwardHeaders, readBody, sendError } from './httpUtil.ts';
import { countPrompt, estimateTokens, type PromptCount } from './promptTokens.ts';
import type { Flight } from './routingState.ts';
import { OutputCounter } from './sseTokens.ts';
import type { WaveMember } from './wave.ts';

/** 'retry': the attempt failed before any byte reached the client and may be retried. */
type AttemptResult = 'done' | 'retry';

export class RequestHandler implements WaveMember {
  readonly t0 = performance.now();
  /**
   * Aborts the upstream request when the client goes away (vLLM then frees its KV cache) or the
   * gateway shuts down. undici takes an EventEmitter as the abort signal: much cheaper per request
   * than an AbortController, whose signal setup was a tenth of the gateway's request-path CPU.
   */
  readonly abort = new EventEmitter();
  /** The request body as received: re-sent whole to the chosen rank. */
  raw!: Buffer;
  /** The decision-log row; set once the request is known to be routable. */
  row: DecisionRow | undefined;
  /** Output tokens streamed so far. */
  completionTokens = 0;
  private clientGone = false;
  private shutDown = false;
  private done = false;
  private flight: Flight | undefined;
  /** A client-pinned gateway rank (only with --trust-client-rank); -1 = the router chooses. */
  private pinned = -1;
  /** Prompt tokens as counted on arrival: what the routing view is told at admission. */
  private promptTokens = 0;
  /** Wave admission: set while the request is held; resolves with whether a rank was chosen. */
  private waveResolve: ((chosen: boolean) => void) | undefined;

  constructor(
    readonly ctx: GatewayContext,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly path: string,
    readonly url: string,
  ) {
    res.on('close', () => this.onClientClose());
  }

  /** Read, route and answer the request; resolves when nothing more is up to the handler. */
  async run(): Promise<void> {
    if (!(await this.readRequest())) return;
    if (this.clientGone) return; // went away while the body was read: logged, nothing to route
    const wave = this.ctx.wave;
    // A client-pinned request is not held: it names its rank, so it cannot join a wave.
    const chosen = wave && this.pinned < 0 ? await new Promise<boolean>((resolve) => ((this.waveResolve = resolve), wave.hold(this))) : this.choose(-1);
    if (this.clientGone) return; // left while held: removed from the wave, logged as client_abort
    if (!chosen) {
      this.finish('no_backend', 503);
      return sendError(this.res, 503, 'no healthy backend rank');
    }
    await this.attemptUntilDone();
  }

  /** Wave admission: the request's wave is released; choose among the ranks not `taken` in it. */
  releaseInWave(taken: Uint8Array, wave: number, heldMs: number): boolean {
    const resolve = this.waveResolve;
    this.waveResolve = undefined;
    const row = this.row!;
    row.wave = wave;
    row.heldMs = heldMs;
    const chosen = this.choose(-1, taken);
    if (chosen) taken[row.rank] = 1;
    resolve?.(chosen);
    return chosen;
  }

  /** The client or the shutdown ended the request: nothing more goes to the client. */
  gone(): boolean {
    return this.clientGone || this.shutDown;
  }

  /** Phase read: body, prompt count, request id, pinned rank, log row. False: answered (4xx) or the client left. */
  private async readRequest(): Promise<boolean> {
    const { opts } = this.ctx;
    const res = this.res;
    try {
      this.raw = await readBody(this.req, opts.maxBodyBytes);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        sendError(res, 413, `request body exceeds ${opts.maxBodyBytes} bytes`, undefined, { connection: 'close' });
        return false;
      }
      if (this.clientGone) return false; // the body never arrived: there is no request to route
      throw e;
    }
    if (this.clientGone) return false;
    let body: unknown;
    try {
      body = JSON.parse(this.raw.toString('utf8'));
    } catch {
      sendError(res, 400, 'request body is not valid JSON');
      return false;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      sendError(res, 400, 'request body must be a JSON object');
      return false;
    }
    const chat = this.path === '/v1/chat/completions';
    const pc = countPrompt(body as Record<string, unknown>, chat, opts.tokenizer ?? estimateTokens, opts.tokenizer !== undefined);
    const clientId = this.req.headers['x-request-id'];
    const requestId = typeof clientId === 'string' && clientId !== '' ? clientId : this.ctx.nextRequestId();
    if (!this.readPinnedRank()) return false;
    this.promptTokens = pc.tokens;
    this.row = newRow(requestId, (performance.timeOrigin + this.t0) / 1000, pc, this.path, (body as { stream?: unknown }).stream === true);
    this.ctx.inflight.add(this.endOnShutdown);
    res.once('close', () => this.ctx.inflight.delete(this.endOnShutdown));
    return true;
  }

  /** A client-pinned rank: a gateway rank index. False: the header was invalid (answered 400). */
  private readPinnedRank(): boolean {
    const rankHeader = this.req.headers[RANK_HEADER];
    if (!this.ctx.opts.trustClientRank || rankHeader === undefined) return true;
    const R = this.ctx.topo.ranks.length;
    const r = Number(rankHeader);
    if (!Number.isInteger(r) || r < 0 || r >= R) {
      sendError(this.res, 400, `${RANK_HEADER} must be a rank in [0, ${R}) (got ${JSON.stringify(rankHeader)})`);
      return false;
    }
    this.pinned = r;
    return true;
  }

  /** Phase choose: admit the request on a rank other than `exclude` (and not in `taken`); false when none is healthy. */
  private choose(exclude: number, taken?: Uint8Array): boolean {
    const { state, metrics, topo, log } = this.ctx;
    const row = this.row!;
    const pinned = this.pinned;
    if (pinned >= 0) {
      if (!state.healthy[pinned] || exclude === pinned) return false;
      this.flight = state.admit(pinned, this.promptTokens);
      row.rank = pinned;
      if (row.firstRank < 0) {
        row.firstRank = pinned;
        row.decisionUs = 0;
      }
    } else {
      const d = state.decide(this.promptTokens, exclude, log !== undefined, taken);
      if (!d) return false;
      this.flight = d.flight;
      row.rank = d.decision.rank;
      metrics.decisionSeconds.observe(d.decision.decisionNs / 1e9);
      if (row.firstRank < 0) {
        row.firstRank = d.decision.rank;
        row.rankLoad = log ? d.decision.load : null;
        row.rankInflight = d.decision.inflight;
        row.rankWaiting = d.decision.waiting;
        row.rankRunning = d.decision.running;
        row.viewAgeMs = d.decision.viewAgeMs;
        row.decisionUs = d.decision.decisionNs / 1000;
      }
    }
    row.backend = topo.ranks[row.rank].backend;
    metrics.decisions.inc({ rank: topo.ranks[row.rank].name });
    return true;
  }

  /** Phase attempt (with retry): at most two attempts, the second on another rank, never for a pinned rank. */
  private async attemptUntilDone(): Promise<void> {
    const { state, metrics } = this.ctx;
    const row = this.row!;
    for (;;) {
      row.attempts++;
      const canRetry = row.attempts < 2 && this.pinned < 0;
      const r = await new UpstreamAttempt(this, this.flight!, canRetry).start();
      if (r === 'done' || this.clientGone || this.shutDown) return;
      const failed = row.rank;
      state.finish(this.flight!);
      this.flight = undefined;
      metrics.retries.inc();
      if (!this.choose(failed)) {
        this.finish('upstream_error', 502);
        return sendError(this.res, 502, `rank ${failed} failed and no other healthy rank is available`);
      }
    }
  }

  /** Phase finish, exactly once per routed request: release the flight, count, write the log row. */
  finish(outcome: Outcome, status: number): void {
    if (this.done) return;
    this.done = true;
    const { state, survival, metrics, log } = this.ctx;
    const row = this.row!;
    if (this.flight) state.finish(this.flight);
    row.outcome = outcome;
    row.httpStatus = status;
    row.completionTokens = this.completionTokens;
    row.endAt = (performance.timeOrigin + performance.now()) / 1000;
    if (outcome === 'ok') survival.record(this.completionTokens);
    metrics.requests.inc({ outcome });
    log?.add(row);
  }

  private onClientClose(): void {
    const res = this.res;
    if (res.writableFinished) return;
    this.clientGone = true;
    this.abort.emit('abort');
    if (this.waveResolve) {
      // Held for a wave: it leaves the wave and is never sent.
      this.ctx.wave?.remove(this);
      const resolve = this.waveResolve;
      this.waveResolve = undefined;
      resolve(false);
    }
    if (this.row) this.finish('client_abort', res.headersSent ? res.statusCode : 499);
  }

  /** The gateway stopping with this request still open: end it as vLLM does (error event, [DONE]). */
  private readonly endOnShutdown = (): void => {
    if (this.done || this.clientGone) return;
    const res = this.res;
    this.shutDown = true;
    this.abort.emit('abort');
    this.finish('server_shutdown', res.headersSent ? res.statusCode : 503);
    if (!res.headersSent) sendError(res, 503, 'the server is shutting down');
    else if (this.row!.stream) {
      // (writeHead's headers are not readable back with getHeader: the request says it streams.)
      const err = JSON.stringify({ error: { message: 'the server is shutting down', type: 'ServiceUnavailableError', param: null, code: 503 } });
      res.end(`data: ${err}\n\ndata: [DONE]\n\n`);
    } else res.destroy();
  };
}

function newRow(requestId: string, arrivedAt: number, pc: PromptCount, endpoint: string, stream: boolean): DecisionRow {
  return {
    requestId,
    arrivedAt,
    promptTokens: pc.tokens,
    promptExact: pc.exact,
    completionTokens: 0,
    endpoint,
    stream,
    rank: -1,
    firstRank: -1,
    backend: -1,
    attempts: 0,
    rankLoad: null,
    rankInflight: null,
    rankWaiting: null,
    rankRunning: null,
    viewAgeMs: NaN,
    decisionUs: NaN,
    ttftMs: NaN,
    endAt: NaN,
    outcome: 'ok',
    httpStatus: 0,
    wave: -1,
    heldMs: 0,
  };
}

/** One upstream exchange of a request with the rank its handler chose (phases attempt and stream). */
class UpstreamAttempt {
  private resolve!: (r: AttemptResult) => void;
  private up!: Dispatcher.ResponseData;
  private out!: OutputCounter;
  private sse = false;
  /** The response head went to the client: from here on a failure cannot be retried. */
  private sent = false;
  private readonly rank: number;
  private readonly backend: number;
  private readonly rankName: string;

  constructor(
    private readonly h: RequestHandler,
    /** The flight this attempt streams for (a retry gets a new one). */
    private readonly flight: Flight,
    private readonly canRetry: boolean,
  ) {
    const ranks = h.ctx.topo.ranks;
    this.rank = h.row!.rank;
    this.backend = ranks[this.rank].backend;
    this.rankName = ranks[this.rank].name;
  }

  start(): Promise<AttemptResult> {
    const { ctx, row } = this.h;
    const rank = ctx.topo.ranks[this.rank];
    const b = ctx.topo.backends[this.backend];
    const headers = forwardHeaders(this.h.req.headers, ctx.drop);
    if (rank.localRank >= 0) headers[RANK_HEADER] = String(rank.localRank);
    if (ctx.upstreamAuth) headers.authorization = ctx.upstreamAuth;
    if (headers['x-request-id'] === undefined) headers['x-request-id'] = row!.requestId;
    return new Promise((resolve) => {
      this.resolve = resolve;
      ctx.pools[b.index]
        .request({
          method: 'POST',
          path: b.basePath + this.h.url,
          headers,
          body: this.h.raw,
          signal: this.h.abort,
          headersTimeout: ctx.opts.upstreamTimeoutMs,
          bodyTimeout: ctx.opts.upstreamTimeoutMs,
        })
        .then(
          (up) => this.onHeaders(up),
          (e: Error & { code?: string }) => this.onConnectError(e),
        );
    });
  }

  /** The upstream answered: a 5xx that may be retried is, anything else is streamed through. */
  private onHeaders(up: Dispatcher.ResponseData): void {
    if (this.h.gone()) {
      up.body.destroy();
      return this.resolve('done');
    }
    if (up.statusCode >= 500 && this.canRetry) {
      up.body.dump().catch(() => undefined);
      return this.fail('status', `answered ${up.statusCode}`, 502);
    }
    this.up = up;
    this.sse = String(up.headers['content-type'] ?? '').startsWith('text/event-stream');
    this.out = new OutputCounter(this.sse);
    up.body.on('data', (chunk: Buffer) => this.onData(chunk));
    up.body.on('end', () => this.onComplete());
    up.body.on('error', (e: Error) => this.onError(e));
  }

  /** The head goes out with the first chunk, in one write. */
  private sendHead(): void {
    this.sent = true;
    this.h.row!.ttftMs = performance.now() - this.h.t0;
    this.h.res.writeHead(this.up.statusCode, forwardHeaders(this.up.headers, new Set()));
  }

  private onData(chunk: Buffer): void {
    if (this.h.gone()) return;
    if (!this.sent) this.sendHead();
    const added = this.out.push(chunk);
    this.h.completionTokens = this.out.tokens;
    this.h.ctx.state.progress(this.flight, added);
    const res = this.h.res;
    if (!res.write(chunk)) {
      this.up.body.pause();
      res.once('drain', () => this.up.body.resume());
    }
  }

  private onComplete(): void {
    const h = this.h;
    if (h.gone()) return this.resolve('done');
    if (!this.sent) this.sendHead();
    h.ctx.state.progress(this.flight, this.out.end());
    h.completionTokens = this.out.tokens;
    if (this.out.promptTokens !== undefined) {
      h.row!.promptTokens = this.out.promptTokens;
      h.row!.promptExact = true;
    }
    h.res.end();
    const s = this.up.statusCode;
    h.finish(s < 300 ? (this.out.errorEvent ? 'failed_midstream' : 'ok') : s < 500 ? 'upstream_4xx' : 'upstream_error', s);
    this.resolve('done');
  }

  /** The response body failed: before the head went out it is a connect failure, after it a mid-stream one. */
  private onError(e: Error): void {
    const h = this.h;
    if (h.gone()) return this.resolve('done');
    if (!this.sent) {
      h.ctx.scraper.markDown(this.backend, e.message);
      return this.fail('connect', e.message, 502);
    }
    h.ctx.metrics.upstreamErrors.inc({ rank: this.rankName, kind: 'midstream' });
    h.ctx.scraper.markDown(this.backend, e.message);
    if (this.sse) {
      // The client sees a well-formed end: one error event, then [DONE] (vLLM's own shape).
      const err = JSON.stringify({ error: { message: `upstream rank ${this.rank} failed mid-stream: ${e.message}`, type: 'InternalServerError', param: null, code: 502 } });
      h.res.end(`data: ${err}\n\ndata: [DONE]\n\n`);
    } else h.res.destroy();
    h.finish('failed_midstream', this.up.statusCode);
    this.resolve('done');
  }

  /** No response at all (connection refused, timeout, reset before the head). */
  private onConnectError(e: Error & { code?: string }): void {
    if (this.h.gone()) return this.resolve('done');
    this.h.ctx.scraper.markDown(this.backend, `${e.code ?? ''} ${e.message}`.trim());
    this.fail('connect', e.message, 502);
  }

  private fail(kind: 'connect' | 'status', message: string, status: number): void {
    this.h.ctx.metrics.upstreamErrors.inc({ rank: this.rankName, kind });
    if (this.canRetry) return this.resolve('retry');
    this.h.finish('upstream_error', status);
    sendError(this.h.res, status, `rank ${this.rank} failed: ${message}`);
    this.resolve('done');
  }
}
