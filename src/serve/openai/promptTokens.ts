/**
 * Prompt length in tokens. A list of token ids is exact. Text is either estimated (4 characters
 * per token, OpenAI's rule of thumb for English; at least 1) or, with a Hugging Face
 * `tokenizer.json`, counted exactly by the model's tokenizer. Chat messages add a fixed chat
 * template overhead (4 tokens per message plus 3 for the assistant header, the
 * ChatML-style layout most chat templates follow); the real template of a model may differ by
 * a few tokens.
 */
import { existsSync } from 'node:fs';
import { readInputText } from '../../formats/inputFile.ts';
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
  /** Token ids of a text (a real tokenizer only: /tokenize). */
  encode?(text: string, addSpecialTokens: boolean): number[];
  /** Text of token ids (a real tokenizer only: /detokenize). */
  decode?(ids: number[]): string;
  /**
   * Output words, one token each, such that any run of them re-tokenizes to exactly one token
   * per word (a client counting tokens from the streamed text then counts what was generated).
   */
  fillerWords?: readonly string[];
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
  const encode = (text: string, add: boolean) => tok.encode(text, { add_special_tokens: add }).ids.map(Number);
  return {
    source: path,
    countText: (text) => Math.max(1, tok.encode(text, { add_special_tokens: true }).ids.length),
    encode,
    decode: (ids) => tok.decode(ids, { skip_special_tokens: false }),
    fillerWords: exactWords(encode, (id) => tok.decode([id], { skip_special_tokens: true }), tok),
  };
}

/**
 * Words that are one token each under the tokenizer and stay one token each in any sequence
 * (checked on a run of every word twice): the default filler words that qualify, else words
 * taken from the vocabulary. Undefined when none qualify (the default words are used then).
 */
function exactWords(encode: (t: string, add: boolean) => number[], decodeOne: (id: number) => string, tok: Tokenizer): string[] | undefined {
  const one = (w: string) => encode(w, false).length === 1;
  let words = FILLER_CANDIDATES.filter(one);
  if (words.length < 4) {
    // Scan the vocabulary for plain words: ' ' + letters, one token with the space.
    const found: string[] = [];
    const vocab = (tok as unknown as { model?: { vocab?: unknown } }).model?.vocab;
    const size = vocab instanceof Map ? vocab.size : Array.isArray(vocab) ? vocab.length : vocab && typeof vocab === 'object' ? Object.keys(vocab).length : 0;
    for (let id = 0; id < Math.min(size, 50_000) && found.length < 16; id++) {
      const t = decodeOne(id).trim();
      if (/^[a-z]{2,12}$/.test(t) && one(` ${t}`)) found.push(` ${t}`);
    }
    words = [...words, ...found.filter((w) => !words.includes(w))];
  }
  if (words.length === 0) return undefined;
  const run = [...words, ...words];
  return encode(run.join(''), false).length === run.length ? words : undefined;
}

/** The filler words of src/serve/openai/responses.ts that a tokenizer is tried on first. */
const FILLER_CANDIDATES = [' the', ' model', ' routes', ' each', ' request', ' to', ' a', ' rank', ' and', ' steps', ' in', ' lockstep', ' with', ' its', ' peers'];

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
