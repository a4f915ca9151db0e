/**
 * Real prompts from a ShareGPT JSON file, sampled as vllm bench serve's `ShareGPTDataset` samples
 * them (vllm/benchmarks/datasets.py): keep entries with at least two conversation turns,
 * `random.seed(seed); random.shuffle(entries)` (CPython's generator, ported in arrivals.ts),
 * prompt = turn 0, completion = turn 1, both counted with the model's tokenizer; keep an entry
 * only if prompt and completion have >= 4 tokens, the prompt <= 1024 and the sum <= 2048; take
 * the first N kept entries, and if fewer than N exist, add `random.choices` duplicates.
 *
 * Tokens are counted with a Hugging Face `tokenizer.json` through @huggingface/tokenizers.
 */

import { readInputText } from '../formats/inputFile.ts';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '../errors.ts';
import { Mt19937 } from './arrivals.ts';

/** vLLM's `is_valid_sequence` defaults. */
export const SHAREGPT_FILTER = { minLen: 4, maxPromptLen: 1024, maxTotalLen: 2048 } as const;

export interface TextRequest {
  prompt: string;
  promptTokens: number;
  outputTokens: number;
}

/** Load a tokenizer.json file (field `tokenizer` in errors). */
export function loadTokenizer(path: string): Tokenizer {
  let json: unknown;
  try {
    json = JSON.parse(readInputText(path, 'tokenizer', 'text', 'tokenizer file'));
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError('tokenizer', path, code ? `cannot read the file (${code})` : 'not valid JSON (expected a Hugging Face tokenizer.json)');
  }
  if (json === null || typeof json !== 'object' || !('model' in json)) {
    throw new InputError('tokenizer', path, 'not a Hugging Face tokenizer.json (no "model" object)');
  }
  try {
    return new Tokenizer(json as ConstructorParameters<typeof Tokenizer>[0], {});
  } catch (e) {
    throw new InputError('tokenizer', path, `cannot build a tokenizer from it (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Number of tokens of `text` as the tokenizer encodes it (with its special tokens, as vLLM does). */
export function countTokens(tok: Tokenizer, text: string): number {
  return tok.encode(text, { add_special_tokens: true }).ids.length;
}

/**
 * Sample `n` requests from a ShareGPT file. Throws InputError (field `dataset`) when the file is
 * not ShareGPT-shaped or holds no entry passing the filter.
 */
export function sampleShareGpt(path: string, n: number, seed: number, tok: Tokenizer, opts: { fixedOutput?: number } = {}): TextRequest[] {
  let data: unknown;
  try {
    data = JSON.parse(readInputText(path, 'dataset', 'dataset', 'dataset'));
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError('dataset', path, code ? `cannot read the file (${code})` : 'not valid JSON (expected a ShareGPT JSON array)');
  }
  if (!Array.isArray(data)) throw new InputError('dataset', path, 'not ShareGPT-shaped: expected a JSON array of {conversations: [{from, value}, ...]}');
  const entries: { p: string; c: string }[] = [];
  for (let i = 0; i < data.length; i++) {
    const e = data[i] as { conversations?: unknown };
    const conv = e !== null && typeof e === 'object' ? e.conversations : undefined;
    if (!Array.isArray(conv)) {
      throw new InputError('dataset', path, `not ShareGPT-shaped: entry ${i} has no "conversations" array`);
    }
    if (conv.length < 2) continue;
    const p = (conv[0] as { value?: unknown })?.value;
    const c = (conv[1] as { value?: unknown })?.value;
    if (typeof p !== 'string' || typeof c !== 'string') {
      throw new InputError('dataset', path, `not ShareGPT-shaped: entry ${i} has a turn without a string "value"`);
    }
    entries.push({ p, c });
  }
  const rng = Mt19937.pythonSeeded(seed);
  rng.shuffle(entries);
  const out: TextRequest[] = [];
  const f = SHAREGPT_FILTER;
  for (const e of entries) {
    if (out.length >= n) break;
    const promptTokens = countTokens(tok, e.p);
    const outputTokens = opts.fixedOutput ?? countTokens(tok, e.c);
    const skipOutputCheck = opts.fixedOutput !== undefined;
    if (promptTokens < f.minLen || (!skipOutputCheck && outputTokens < f.minLen)) continue;
    if (promptTokens > f.maxPromptLen || promptTokens + outputTokens > f.maxTotalLen) continue;
    out.push({ prompt: e.p, promptTokens, outputTokens });
  }
  if (out.length === 0) {
    throw new InputError('dataset', path, `no entry passes vLLM's ShareGPT filter (>= ${f.minLen} tokens each, prompt <= ${f.maxPromptLen}, total <= ${f.maxTotalLen})`);
  }
  // Oversample as vLLM does: random.choices(samples, k=missing) on the same generator.
  const kept = out.length;
  while (out.length < n) out.push(out[Math.floor(rng.double() * kept)]);
  return out;
}
