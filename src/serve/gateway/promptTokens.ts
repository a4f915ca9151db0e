// Prompt length of an OpenAI-style request body, in tokens. Token-id prompts are exact; text is
// counted with a Hugging Face tokenizer.json when one is given, else estimated at 4 characters
// per token (OpenAI's rule of thumb for English text: "1 token ~= 4 chars in English",
// help.openai.com, "What are tokens and how to count them?"). Chat messages add a few template
// tokens each, so chat counts are never marked exact.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '../../errors.ts';

export const CHARS_PER_TOKEN = 4;
/** Template tokens per chat message (role markers, separators): a typical chat template's cost. */
export const CHAT_TOKENS_PER_MESSAGE = 4;

export interface PromptCount {
  tokens: number;
  exact: boolean;
}

export type TextCounter = (text: string) => number;

export const estimateTokens: TextCounter = (text) => Math.ceil(text.length / CHARS_PER_TOKEN);

/** A counter backed by tokenizer.json (and tokenizer_config.json beside it, if present). */
export function loadTokenizer(path: string): TextCounter {
  let tok: Tokenizer;
  try {
    const json = JSON.parse(readFileSync(path, 'utf8'));
    const cfgPath = join(dirname(path), 'tokenizer_config.json');
    const cfg = existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, 'utf8')) : {};
    tok = new Tokenizer(json, cfg);
  } catch (e) {
    throw new InputError('tokenizer', path, `cannot load a Hugging Face tokenizer.json (${String((e as Error).message ?? e).split('\n')[0]})`);
  }
  return (text) => tok.encode(text, { add_special_tokens: false }).ids.length;
}

function isTokenIds(x: unknown): x is number[] {
  return Array.isArray(x) && x.length > 0 && x.every((v) => Number.isInteger(v));
}

/**
 * Count the prompt of a /v1/completions or /v1/chat/completions body. `counter` counts text;
 * `exactText` says whether it is a real tokenizer.
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
  let n = 0;
  for (const m of msgs) {
    n += CHAT_TOKENS_PER_MESSAGE;
    const c = (m as { content?: unknown } | null)?.content;
    if (typeof c === 'string') n += counter(c);
    else if (Array.isArray(c)) {
      for (const part of c) {
        const t = (part as { text?: unknown } | null)?.text;
        if (typeof t === 'string') n += counter(t);
      }
    }
  }
  return { tokens: Math.max(1, n), exact: false };
}
