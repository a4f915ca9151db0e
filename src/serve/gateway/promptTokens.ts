// Prompt length of a request body as the gateway sees it: raw JSON, not yet validated (vLLM
// validates it). Counting rules are the emulator's (src/serve/openai/promptTokens.ts), so the
// gateway and `balanceroute emulate` agree on loads: token ids are exact; text is counted by a
// Hugging Face tokenizer.json when one is given, else estimated at 4 characters per token;
// chat adds the template overhead per message and for the reply, so chat counts are never exact.
import {
  CHAT_TOKENS_PER_MESSAGE,
  CHAT_TOKENS_REPLY,
  estimateCounter,
  tokenizerCounter,
} from '../openai/promptTokens.ts';

export { CHAT_TOKENS_PER_MESSAGE, CHAT_TOKENS_REPLY };

export interface PromptCount {
  tokens: number;
  exact: boolean;
}

export type TextCounter = (text: string) => number;

export const estimateTokens: TextCounter = (text) => estimateCounter.countText(text);

/** A counter backed by tokenizer.json (and tokenizer_config.json beside it); InputError if unusable. */
export function loadTokenizer(path: string): TextCounter {
  const c = tokenizerCounter(path);
  return (text) => c.countText(text);
}

function isTokenIds(x: unknown): x is number[] {
  return Array.isArray(x) && x.length > 0 && x.every((v) => Number.isInteger(v));
}

/**
 * Count the prompt of a /v1/completions or /v1/chat/completions body. `counter` counts text;
 * `exactText` says whether it is a real tokenizer. Malformed bodies count 1 token (vLLM rejects them).
 */
export function countPrompt(body: Record<string, unknown>, chat: boolean, counter: TextCounter, exactText: boolean): PromptCount {
  if (!chat) {
    const p = body.prompt;
    if (typeof p === 'string') return { tokens: Math.max(1, counter(p)), exact: exactText };
    if (isTokenIds(p)) return { tokens: p.length, exact: true };
    if (Array.isArray(p) && p.length > 0) {
      // A batch: several prompts in one request, all on one rank.
      let n = 0;
      let exact = true;
      for (const q of p) {
        if (typeof q === 'string') {
          n += counter(q);
          exact &&= exactText;
        } else if (isTokenIds(q)) n += q.length;
        else return { tokens: 1, exact: false };
      }
      return { tokens: Math.max(1, n), exact };
    }
    return { tokens: 1, exact: false };
  }
  const msgs = body.messages;
  if (!Array.isArray(msgs)) return { tokens: 1, exact: false };
  let n = CHAT_TOKENS_REPLY;
  for (const m of msgs) {
    n += CHAT_TOKENS_PER_MESSAGE;
    const c = (m as { content?: unknown } | null)?.content;
    let text = '';
    if (typeof c === 'string') text = c;
    else if (Array.isArray(c)) {
      for (const part of c) {
        const t = (part as { text?: unknown } | null)?.text;
        if (typeof t === 'string') text += t;
      }
    }
    if (text !== '') n += counter(text);
  }
  return { tokens: n, exact: false };
}
