/**
 * The request bodies the emulator accepts, as vLLM's OpenAI server reads them: the fields that
 * shape the served work are checked (type, range); other OpenAI/vLLM fields (temperature,
 * top_p, stop, seed, ...) are accepted and ignored, as vLLM ignores unknown fields.
 */
import { z } from 'zod';
import { ApiError } from './errors.ts';

const tokenId = z.int().nonnegative();
const nullableBool = z.boolean().nullish();
const positiveInt = z.int().min(1).nullish();

const streamOptions = z
  .object({
    include_usage: nullableBool,
    continuous_usage_stats: nullableBool,
  })
  .loose();

const common = {
  model: z.string().nullish(),
  stream: nullableBool,
  stream_options: streamOptions.nullish(),
  ignore_eos: nullableBool,
  // One choice per request: vLLM's n > 1 fans a request out into n sequences, which the
  // emulator does not model (docs/emulate.md).
  n: z.literal(1).nullish(),
  max_tokens: positiveInt,
};

export const completionRequest = z
  .object({
    ...common,
    // A text prompt, a list of token ids, or a batch of exactly one of either.
    prompt: z.union([
      z.string(),
      z.array(tokenId).min(1),
      z.tuple([z.string()]),
      z.tuple([z.array(tokenId).min(1)]),
    ]),
  })
  .loose();
export type CompletionRequest = z.infer<typeof completionRequest>;

const contentPart = z.object({ type: z.string(), text: z.string().optional() }).loose();
const message = z
  .object({
    role: z.string(),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  })
  .loose();

export const chatRequest = z
  .object({
    ...common,
    messages: z.array(message).min(1),
    max_completion_tokens: positiveInt,
  })
  .loose();
export type ChatRequest = z.infer<typeof chatRequest>;
export type ChatMessage = z.infer<typeof message>;

/** Parse a body with a schema; the first problem becomes a 400 naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'The request body must be a JSON object.');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = issue.path.map(String).join('.') || null;
  const got = param === null ? undefined : valueAt(body, issue.path);
  const missing = got === undefined && param !== null;
  const what = missing ? 'Field required' : issue.message;
  throw new ApiError(400, `${param ?? 'body'}: ${what}${missing ? '' : ` (got ${short(got)})`}`, param);
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = body;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** vLLM rejects stream_options on a non-streaming request. */
export function checkStreamOptions(req: { stream?: boolean | null; stream_options?: unknown }): void {
  if (req.stream_options != null && !req.stream) {
    throw new ApiError(400, 'Stream options can only be defined when `stream=True`.', 'stream_options');
  }
}
