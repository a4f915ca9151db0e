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

export const FILLER_WORDS: readonly string[] = WORDS;

export function tokenText(i: number, words: readonly string[] = WORDS): string {
  return words[i % words.length];
}

export function generatedText(n: number, words: readonly string[] = WORDS): string {
  let s = '';
  for (let i = 0; i < n; i++) s += words[i % words.length];
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
    /** `stream_options.continuous_usage_stats`: usage (tokens so far) on every chunk, as vLLM does. */
    readonly continuousUsage = false,
    readonly promptTokens = 0,
    /** The text of output token i (default: the filler words). */
    private readonly words: readonly string[] = WORDS,
  ) {
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    this.head = `data: {"id":${JSON.stringify(id)},"object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[`;
    this.mid = kind === 'chat' ? '{"index":0,"delta":{"content":' : '{"index":0,"text":';
    this.usageTail = includeUsage ? ',"usage":null}\n\n' : '}\n\n';
    this.tail = kind === 'chat' ? '}' : '';
    this.wordsJson = words === WORDS ? WORDS_JSON : words.map((w) => JSON.stringify(w));
  }

  private readonly wordsJson: readonly string[];

  /** The end of a chunk: `"usage":null`, or the usage so far with continuous usage stats. */
  private end(completion: number): string {
    if (!this.continuousUsage || !this.includeUsage) return this.usageTail;
    return `,"usage":{"prompt_tokens":${this.promptTokens},"completion_tokens":${completion},"total_tokens":${this.promptTokens + completion}}}\n\n`;
  }

  /** The chat role chunk (chat only). */
  role(): string {
    return `${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${this.end(0)}`;
  }

  /** The chunk of output token i (0-based); `finish` on the last one. */
  token(i: number, finish: FinishReason | null): string {
    const fr = finish === null ? 'null' : `"${finish}"`;
    const stop = this.kind === 'chat' ? '' : ',"stop_reason":null';
    return `${this.head}${this.mid}${this.wordsJson[i % this.wordsJson.length]}${this.tail},"logprobs":null,"finish_reason":${fr}${stop}}]${this.end(i + 1)}`;
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
  words: readonly string[] = WORDS,
): unknown {
  const text = generatedText(completion, words);
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
        // vLLM's ModelPermission object (vllm/entrypoints/openai/protocol.py).
        permission: [
          {
            id: `modelperm-${randomBytes(16).toString('hex')}`,
            object: 'model_permission',
            created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: '*',
            group: null,
            is_blocking: false,
          },
        ],
      },
    ],
  };
}
