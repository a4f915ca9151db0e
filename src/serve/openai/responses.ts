/**
 * Response bodies and Server-Sent Events in vLLM's OpenAI format (field sets of its
 * CompletionStreamResponse / ChatCompletionStreamResponse and their non-streaming twins).
 *
 * SSE framing: every event is `data: <json>\n\n`; the stream ends with `data: [DONE]\n\n`.
 * Chat streams open with a role chunk (`delta: {role: "assistant", content: ""}`) that vLLM
 * sends with the first engine output; with `stream_options.include_usage` every chunk carries
 * `"usage": null` and a last chunk with `choices: []` carries the usage. A chunk's JSON is
 * built from a per-request prefix and suffix, so a token costs one string concatenation.
 */
import { randomBytes } from 'node:crypto';

export type Endpoint = 'completion' | 'chat';
export type FinishReason = 'stop' | 'length' | 'abort';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const SSE_DONE = 'data: [DONE]\n\n';

/** An id in vLLM's style: `cmpl-<hex>` / `chatcmpl-<hex>`. */
export function newResponseId(kind: Endpoint): string {
  return `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(16).toString('hex')}`;
}

// The emulator generates no real text: token i of a response is a word from this list, so
// clients that print or count text see something plausible (usage carries the true counts).
const WORDS = [' the', ' model', ' routes', ' each', ' request', ' to', ' a', ' rank', ' and', ' steps', ' in', ' lockstep', ' with', ' its', ' peers', '.'];
const WORDS_JSON = WORDS.map((w) => JSON.stringify(w));

export function tokenText(i: number): string {
  return WORDS[i % WORDS.length];
}

export function generatedText(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += WORDS[i % WORDS.length];
  return s;
}

export function usageOf(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Writes the SSE events of one streamed response. */
export class SseChunks {
  private readonly head: string;
  private readonly mid: string;
  private readonly tail: string;
  private readonly usageTail: string;
  constructor(
    readonly kind: Endpoint,
    readonly id: string,
    readonly model: string,
    readonly created: number,
    readonly includeUsage: boolean,
  ) {
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    this.head = `data: {"id":${JSON.stringify(id)},"object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[`;
    this.mid = kind === 'chat' ? '{"index":0,"delta":{"content":' : '{"index":0,"text":';
    this.usageTail = includeUsage ? ',"usage":null}\n\n' : '}\n\n';
    this.tail = kind === 'chat' ? '}' : '';
  }

  /** The chat role chunk (chat only). */
  role(): string {
    return `${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${this.usageTail}`;
  }

  /** The chunk of output token i (0-based); `finish` on the last one. */
  token(i: number, finish: FinishReason | null): string {
    const fr = finish === null ? 'null' : `"${finish}"`;
    const stop = this.kind === 'chat' ? '' : ',"stop_reason":null';
    return `${this.head}${this.mid}${WORDS_JSON[i % WORDS_JSON.length]}${this.tail},"logprobs":null,"finish_reason":${fr}${stop}}]${this.usageTail}`;
  }

  /** The final usage chunk (only with include_usage). */
  usage(u: Usage): string {
    return `${this.head}],"usage":${JSON.stringify(u)}}\n\n`;
  }
}

/** An error in the middle of a stream: one `data:` event with vLLM's error object. */
export function sseError(message: string, type: string, code: number): string {
  return `data: ${JSON.stringify({ error: { message, type, param: null, code } })}\n\n`;
}

/** The non-streaming response body. */
export function fullResponse(
  kind: Endpoint,
  id: string,
  model: string,
  created: number,
  completion: number,
  finish: FinishReason,
  usage: Usage,
): unknown {
  const text = generatedText(completion);
  if (kind === 'chat') {
    return {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, tool_calls: [] },
          logprobs: null,
          finish_reason: finish,
          stop_reason: null,
        },
      ],
      usage,
    };
  }
  return {
    id,
    object: 'text_completion',
    created,
    model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null }],
    usage,
  };
}

/** `GET /v1/models`. */
export function modelList(name: string, created: number, maxModelLen: number): unknown {
  return {
    object: 'list',
    data: [
      {
        id: name,
        object: 'model',
        created,
        owned_by: 'vllm',
        root: name,
        parent: null,
        max_model_len: maxModelLen,
        permission: [],
      },
    ],
  };
}
