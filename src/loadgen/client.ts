/**
 * One streaming request, measured as `vllm bench serve` measures it
 * (vllm/benchmarks/lib/endpoint_request_func.py): the start time is taken just before the POST;
 * TTFT at the first SSE message whose JSON has a non-empty `choices`; each later such message adds
 * an inter-token latency (time since the previous one); the end is the last such message (the
 * usage-only chunk does not move it); output and prompt tokens come from the usage chunk.
 *
 * Stricter than vllm bench on purpose, so that server faults are never counted as successes: a
 * stream must end with `data: [DONE]`; a chunk that is not JSON, or an error object in the
 * stream, fails the request with its reason.
 */
import { createParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';

/** Why a request failed. */
export type FailureKind = 'http_4xx' | 'http_5xx' | 'http_other' | 'connection' | 'timeout' | 'not_sse' | 'stream_cut' | 'malformed_chunk' | 'stream_error' | 'no_output' | 'interrupted';

export interface RequestOutcome {
  ok: boolean;
  /** performance.now() just before the POST, ms. */
  startMs: number;
  /** TTFT in ms (NaN when no choice arrived). */
  ttftMs: number;
  /** Inter-token latencies in ms. */
  itlMs: number[];
  /** Last choices message minus start, ms (NaN when none arrived). */
  latencyMs: number;
  /** usage.completion_tokens (or the count of choices messages when the server sent no usage). */
  outputTokens: number | null;
  /** usage.prompt_tokens, when reported. */
  promptTokens: number | null;
  /** DP rank from the `x-data-parallel-rank` response header, when the server reports one. */
  rank: number | null;
  /** The generated text streamed so far. */
  text: string;
  /** HTTP status (0 when there was no response). */
  status: number;
  failure: FailureKind | null;
  error: string;
}

export interface SendOptions {
  dispatcher: Dispatcher;
  url: URL;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Aborts the request (Ctrl-C). */
  signal: AbortSignal;
}

const oneLine = (s: string, max = 200) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 3) + '...' : t;
};

/** The message of a vLLM / OpenAI error body ({error: {message}} or {message}), else the text. */
export function errorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (j && typeof j.error === 'object' && typeof j.error?.message === 'string') return oneLine(j.error.message);
    if (j && typeof j.error === 'string') return oneLine(j.error);
    if (j && typeof j.message === 'string') return oneLine(j.message);
  } catch {
    // not JSON: fall through to the raw text
  }
  return oneLine(text) || '(empty body)';
}

// Long on purpose: one request as vllm bench measures it (send, first byte, each SSE chunk,
// usage, timeout, errors), its timestamps local to one function.
export async function sendRequest(o: SendOptions): Promise<RequestOutcome> {
  const out: RequestOutcome = {
    ok: false, startMs: 0, ttftMs: NaN, itlMs: [], latencyMs: NaN, outputTokens: null, promptTokens: null, rank: null, status: 0, failure: null, error: '', text: '',
  };
  const ctl = new AbortController();
  let timedOut = false;
  const timer = o.timeoutMs > 0 ? setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, o.timeoutMs) : undefined;
  const onOuterAbort = () => ctl.abort();
  o.signal.addEventListener('abort', onOuterAbort, { once: true });
  const fail = (kind: FailureKind, error: string) => {
    out.ok = false;
    out.failure = kind;
    out.error = error;
    return out;
  };
  let chunks = 0;
  let last = 0;
  let done = false;
  let bad: { kind: FailureKind; error: string } | null = null;
  const parser = createParser({
    onEvent(ev) {
      if (done || bad) return;
      const data = ev.data.trim();
      if (data === '[DONE]') {
        done = true;
        return;
      }
      let j: { choices?: unknown[]; usage?: { completion_tokens?: number; prompt_tokens?: number } | null; error?: unknown; object?: string; message?: string };
      try {
        j = JSON.parse(data);
      } catch {
        bad = { kind: 'malformed_chunk', error: `malformed SSE chunk: ${oneLine(data, 80)}` };
        return;
      }
      if (j === null || typeof j !== 'object') {
        bad = { kind: 'malformed_chunk', error: `malformed SSE chunk: ${oneLine(data, 80)}` };
        return;
      }
      if (j.error !== undefined || j.object === 'error') {
        bad = { kind: 'stream_error', error: `error in stream: ${errorMessage(data)}` };
        return;
      }
      if (Array.isArray(j.choices) && j.choices.length > 0) {
        // The generated text, as vllm bench keeps it (completions `text`, chat `delta.content`).
        const c = j.choices[0] as { text?: unknown; delta?: { content?: unknown } };
        if (typeof c?.text === 'string') out.text += c.text;
        else if (typeof c?.delta?.content === 'string') out.text += c.delta.content;
        const t = now;
        if (chunks === 0) out.ttftMs = t - out.startMs;
        else out.itlMs.push(t - last);
        last = t;
        chunks++;
      }
      if (j.usage) {
        if (typeof j.usage.completion_tokens === 'number') out.outputTokens = j.usage.completion_tokens;
        if (typeof j.usage.prompt_tokens === 'number') out.promptTokens = j.usage.prompt_tokens;
      }
    },
  });
  // Every message of one network chunk is stamped with the chunk's arrival time.
  let now = 0;
  try {
    out.startMs = performance.now();
    const res = await o.dispatcher.request({
      origin: o.url.origin,
      path: o.url.pathname + o.url.search,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...o.headers },
      body: o.body,
      signal: ctl.signal,
    });
    out.status = res.statusCode;
    const rankHeader = res.headers['x-data-parallel-rank'];
    if (typeof rankHeader === 'string' && /^\d+$/.test(rankHeader.trim())) out.rank = Number(rankHeader);
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      const kind: FailureKind = res.statusCode >= 500 ? 'http_5xx' : res.statusCode >= 400 ? 'http_4xx' : 'http_other';
      return fail(kind, `HTTP ${res.statusCode}: ${errorMessage(text)}`);
    }
    const ctype = String(res.headers['content-type'] ?? '');
    if (!ctype.includes('text/event-stream')) {
      const text = await res.body.text();
      return fail('not_sse', `HTTP 200 with content-type ${ctype || '(none)'}, not an SSE stream: ${oneLine(text, 80)}`);
    }
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      now = performance.now();
      parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
      if (bad || done) break;
    }
    if (!bad && !done) {
      // The body ended: a final message without its blank line still counts.
      now = performance.now();
      parser.reset({ consume: true });
    }
    if (bad) {
      res.body.destroy();
      const b = bad as { kind: FailureKind; error: string };
      return fail(b.kind, b.error);
    }
    if (!done) return fail('stream_cut', `stream ended after ${chunks} chunks without data: [DONE]`);
    if (chunks === 0) return fail('no_output', 'stream ended without any choices chunk');
    out.latencyMs = last - out.startMs;
    if (out.outputTokens === null) out.outputTokens = chunks;
    out.ok = true;
    return out;
  } catch (e) {
    if (timedOut) return fail('timeout', `timed out after ${(o.timeoutMs / 1000).toFixed(3).replace(/\.?0+$/, '')} s`);
    if (o.signal.aborted) return fail('interrupted', 'interrupted');
    const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = err.code ?? err.cause?.code;
    if (chunks > 0 || out.status === 200) return fail('stream_cut', `stream cut after ${chunks} chunks (${code ?? oneLine(String(err.message))})`);
    return fail('connection', `connection failed (${code ?? oneLine(String(err.message))})`);
  } finally {
    if (timer) clearTimeout(timer);
    o.signal.removeEventListener('abort', onOuterAbort);
  }
}
