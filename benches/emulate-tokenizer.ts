/**
 * TTFT through the emulator's HTTP API with and without `--tokenizer` (a measurement, never an
 * assertion): what counting a text prompt with a Hugging Face tokenizer adds to a request's
 * time to first token.
 *
 * One `balanceroute emulate` process per arm (DP=1, the default preset, engine on its worker
 * thread, --speed 1), started one after the other, the client in this process; requests are sent one at a time (no queueing in the
 * model), streaming /v1/completions with a text prompt of 256 tokens under both counters and max_tokens 4,
 * and TTFT is taken at the first SSE chunk with choices, as vllm bench does. Arms alternate in
 * blocks (and which goes first) so that drift of a shared machine hits both. Also reported: the tokenizer's own encode
 * time per prompt.
 *
 * The tokenizer is a WordPiece tokenizer built here from the words of docs/*.md (no network:
 * a real model's tokenizer.json is not shipped), so the figures are for that tokenizer; a
 * byte-level BPE of a real model costs more per token (issue 23 measured ~5 ms median per
 * 256-token prompt with a Llama tokenizer on the HTTP thread).
 *
 *   node --import tsx benches/emulate-tokenizer.ts [--requests 200] [--blocks 5] [--out benches/results]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { tokenizerCounter } from '../src/serve/openai/promptTokens.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    blocks: { type: 'string', default: '5' },
    out: { type: 'string', default: 'benches/results' },
  },
});
const REQUESTS = Number(args.requests);
const BLOCKS = Number(args.blocks);

// ---- the fixture tokenizer and the prompts ----
const words = readdirSync('docs')
  .filter((f) => f.endsWith('.md'))
  .flatMap((f) => readFileSync(join('docs', f), 'utf8').toLowerCase().match(/[a-z]+/g) ?? []);
const freq = new Map<string, number>();
for (const w of words) freq.set(w, (freq.get(w) ?? 0) + 1);
const common = [...freq.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6000).map(([w]) => w);
const vocab: Record<string, number> = { '[UNK]': 0 };
for (const w of common) vocab[w] = Object.keys(vocab).length;
for (const c of 'abcdefghijklmnopqrstuvwxyz') {
  vocab[c] ??= Object.keys(vocab).length;
  vocab[`##${c}`] = Object.keys(vocab).length;
}
const tokDir = mkdtempSync(join(tmpdir(), 'br-tokbench-'));
writeFileSync(
  join(tokDir, 'tokenizer.json'),
  JSON.stringify({
    version: '1.0',
    added_tokens: [{ id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  }),
);
const tokPath = join(tokDir, 'tokenizer.json');
const tok = tokenizerCounter(tokPath);
// Prompt i: 256 three-letter words of the vocabulary (one token each), drawn afresh for every
// request, with a trailing space: 1024 characters, so the 4-characters-per-token estimate and the
// tokenizer both count 256 tokens and both arms prefill the same prompt length; only the
// counting differs.
const three = common.filter((w) => w.length === 3);
const prompt = (i: number) => {
  let x = (i + 1) * 2654435761;
  const out: string[] = [];
  for (let k = 0; k < 256; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(three[x % three.length]);
  }
  return out.join(' ') + ' ';
};

// ---- measurement ----
async function ttftOnce(base: string, model: string, text: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: text, max_tokens: 4, ignore_eos: true, stream: true }),
  });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let ttft = NaN;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    if (Number.isNaN(ttft) && buf.includes('"choices":[{')) ttft = performance.now() - t0;
  }
  return ttft;
}

/** One arm: `balanceroute emulate` in its own process (as a client sees a server), n requests. */
async function arm(tokenizer: string | undefined, n: number, offset: number): Promise<number[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/cli/main.ts', 'emulate', '--dp', '1', '--port', '0', '--served-model-name', 'm', ...(tokenizer ? ['--tokenizer', tokenizer] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /emulate: listening (\{.*\})/.exec(out);
      if (m) resolve((JSON.parse(m[1]) as { ports: number[] }).ports[0]);
    });
    child.on('exit', (code) => reject(new Error(`emulate exited ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; i < 10; i++) await ttftOnce(base, 'm', prompt(offset + i)); // warm-up
    const res: number[] = [];
    for (let i = 0; i < n; i++) res.push(await ttftOnce(base, 'm', prompt(offset + 10 + i)));
    return res;
  } finally {
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

const q = (v: number[], p: number) => {
  const s = [...v].sort((a, b) => a - b);
  const x = (p / 100) * (s.length - 1);
  const lo = Math.floor(x);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (x - lo);
};

const without: number[] = [];
const withTok: number[] = [];
const per = Math.ceil(REQUESTS / BLOCKS);
for (let b = 0; b < BLOCKS; b++) {
  // Alternate which arm goes first, so a machine that gets busier or quieter favours neither.
  if (b % 2 === 0) {
    without.push(...(await arm(undefined, per, b * 1000)));
    withTok.push(...(await arm(tokPath, per, b * 1000)));
  } else {
    withTok.push(...(await arm(tokPath, per, b * 1000)));
    without.push(...(await arm(undefined, per, b * 1000)));
  }
  process.stderr.write(`block ${b + 1}/${BLOCKS}: median TTFT without ${q(without, 50).toFixed(3)} ms, with ${q(withTok, 50).toFixed(3)} ms\n`);
}
const enc: number[] = [];
for (let i = 0; i < 500; i++) {
  const t = prompt(i);
  const t0 = performance.now();
  tok.countText(t);
  enc.push(performance.now() - t0);
}
const tokensPerPrompt = q(Array.from({ length: 50 }, (_, i) => tok.countText(prompt(i))), 50);

const row = (name: string, v: number[]) => `| ${name} | ${v.length} | ${q(v, 50).toFixed(3)} | ${q(v, 10).toFixed(3)} | ${q(v, 90).toFixed(3)} |`;
const md = [
  `# emulate: TTFT with and without --tokenizer (${new Date().toISOString().slice(0, 10)})`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'} (shared). \`emulate --dp 1\` in its own process (default preset, engine worker thread, --speed 1); sequential streaming /v1/completions, text prompt of 256 three-letter words, 1024 characters (${tokensPerPrompt} tokens under the fixture tokenizer, 256 under the estimate), max_tokens 4. Command: \`node --import tsx benches/emulate-tokenizer.ts --requests ${REQUESTS} --blocks ${BLOCKS}\`.`,
  '',
  '| arm | requests | TTFT median ms | p10 ms | p90 ms |',
  '|---|---|---|---|---|',
  row('estimate (no --tokenizer)', without),
  row('--tokenizer (WordPiece from docs/*.md, 6k words)', withTok),
  '',
  `Difference of medians: ${(q(withTok, 50) - q(without, 50)).toFixed(3)} ms. Encode time of one prompt: median ${q(enc, 50).toFixed(3)} ms, p90 ${q(enc, 90).toFixed(3)} ms.`,
  '',
].join('\n');
process.stdout.write(md);
mkdirSync(args.out!, { recursive: true });
writeFileSync(join(args.out!, `${new Date().toISOString().slice(0, 10)}-emulate-tokenizer.md`), md);
