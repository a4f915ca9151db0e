/**
 * Prompt length in tokens. A list of token ids is exact. Text is either estimated (4 characters
 * per token, OpenAI's rule of thumb for English; at least 1) or, with a Hugging Face
 * `tokenizer.json`, counted exactly by the model's tokenizer. Chat messages add a fixed chat
 * template overhead (4 tokens per message plus 3 for the assistant header, the
 * ChatML-style layout most chat templates follow); the real template of a model may differ by
 * a few tokens.
 */
import { existsSync } from 'node:fs';
import { readInputText } from '../../io/inputFile.ts';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '../../errors.ts';
import type { ChatMessage } from './schemas.ts';

export const CHARS_PER_TOKEN = 4;
export const CHAT_TOKENS_PER_MESSAGE = 4;
export const CHAT_TOKENS_REPLY = 3;

export interface TokenCounter {
  /** 'estimate' or the tokenizer file's path. */
  readonly source: string;
  countText(text: string): number;
}

export const estimateCounter: TokenCounter = {
  source: 'estimate',
  countText: (text) => Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN)),
};

/** A counter from a Hugging Face tokenizer.json (tokenizer_config.json beside it is used if present). */
export function tokenizerCounter(path: string): TokenCounter {
  let json: unknown;
  try {
    json = JSON.parse(readInputText(path, 'tokenizer', 'text', 'tokenizer file'));
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('tokenizer', path, `cannot read a tokenizer.json: ${(e as Error).message.split('\n')[0]}`);
  }
  const cfgPath = join(dirname(path), 'tokenizer_config.json');
  let cfg: object = {};
  if (existsSync(cfgPath)) {
    try {
      cfg = JSON.parse(readInputText(cfgPath, 'tokenizer', 'text', 'tokenizer_config.json')) as object;
    } catch {
      cfg = {};
    }
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json as object, cfg);
    tok.encode('probe');
  } catch (e) {
    throw new InputError('tokenizer', path, `not a usable Hugging Face tokenizer: ${(e as Error).message.split('\n')[0]}`);
  }
  return {
    source: path,
    countText: (text) => Math.max(1, tok.encode(text, { add_special_tokens: true }).ids.length),
  };
}

/** Prompt tokens of a completions `prompt`. */
export function completionPromptTokens(prompt: string | number[] | [string] | [number[]], counter: TokenCounter): number {
  const p = Array.isArray(prompt) && prompt.length === 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0])) ? prompt[0] : prompt;
  if (typeof p === 'string') return counter.countText(p);
  return (p as number[]).length;
}

/** Prompt tokens of chat messages (text parts only; other parts count as nothing). */
export function chatPromptTokens(messages: ChatMessage[], counter: TokenCounter): number {
  let n = CHAT_TOKENS_REPLY;
  for (const m of messages) {
    n += CHAT_TOKENS_PER_MESSAGE;
    const c = m.content;
    let text = '';
    if (typeof c === 'string') text = c;
    else if (Array.isArray(c)) for (const part of c) if (typeof part.text === 'string') text += part.text;
    if (text !== '') n += counter.countText(text);
  }
  return n;
}
