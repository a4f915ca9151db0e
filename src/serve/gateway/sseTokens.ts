// Counting output tokens in a response as its bytes pass through, without holding them back.
// Streaming (SSE): each `data:` event with a non-empty `choices` carries at least one token
// (vLLM sends one event per engine output); a `usage` object, when the client asked for it,
// gives the exact count and replaces the estimate. Non-streaming JSON: `usage.completion_tokens`.
import { createParser, type EventSourceParser } from 'eventsource-parser';

/** Non-streaming bodies larger than this are passed through without being parsed for usage. */
const MAX_JSON_BODY = 4 << 20;

export class OutputCounter {
  /** Output tokens so far (estimate until `exact`). */
  tokens = 0;
  exact = false;
  /** Prompt tokens reported by the server's usage, if any. */
  promptTokens: number | undefined;
  /** The server sent an error event inside the stream. */
  errorEvent = false;
  private readonly parser: EventSourceParser | undefined;
  private readonly decoder = new TextDecoder();
  private json: Buffer[] | undefined;
  private jsonBytes = 0;

  constructor(sse: boolean) {
    if (sse) this.parser = createParser({ onEvent: (e) => this.onData(e.data) });
    else this.json = [];
  }

  /** Feed response bytes; returns how many tokens this chunk added. */
  push(chunk: Buffer): number {
    const before = this.tokens;
    if (this.parser) this.parser.feed(this.decoder.decode(chunk, { stream: true }));
    else if (this.json) {
      this.jsonBytes += chunk.length;
      if (this.jsonBytes > MAX_JSON_BODY) this.json = undefined;
      else this.json.push(chunk);
    }
    return this.tokens - before;
  }

  /** The body ended: read usage of a non-streaming response. Returns tokens added. */
  end(): number {
    const before = this.tokens;
    if (this.json) {
      try {
        this.readUsage(JSON.parse(Buffer.concat(this.json).toString('utf8')));
      } catch {
        // not JSON: nothing to count
      }
      this.json = undefined;
    }
    return this.tokens - before;
  }

  private onData(data: string): void {
    if (data === '[DONE]') return;
    if (data.includes('"usage":{') || data.includes('"error"')) {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(data);
      } catch {
        return;
      }
      if (obj.error !== undefined || obj.object === 'error') {
        this.errorEvent = true;
        return;
      }
      if (this.readUsage(obj)) return;
    }
    if (this.exact) return;
    if (data.includes('"choices":[]')) return; // the usage-only final chunk
    if (data.includes('"role":"assistant"') && data.includes('"content":""')) return; // chat role chunk
    this.tokens += 1;
  }

  private readUsage(obj: unknown): boolean {
    const u = (obj as { usage?: { completion_tokens?: unknown; prompt_tokens?: unknown } } | null)?.usage;
    if (!u || typeof u.completion_tokens !== 'number') return false;
    this.tokens = u.completion_tokens;
    this.exact = true;
    if (typeof u.prompt_tokens === 'number') this.promptTokens = u.prompt_tokens;
    return true;
  }
}
