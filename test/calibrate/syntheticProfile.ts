// A small synthetic layer-wise profile whose attention table follows known coefficients exactly
// (for the calibration tests).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LAYERS = 4;
/** Per-step coefficients in integer picoseconds (what calibrate must find). */
export const KNOWN = {
  base: 900_000_000,
  perDecodeSeq: 5_000_000,
  perPrefillToken: 1_500_000,
  perKvTokenRead: 70_000,
  perAttnKiloPair: 2_400_000,
  perPrefillKvToken: 600_000,
  perMixedDecodeKvToken: 130_000,
  perMixedDecodeSeq: 14_000_000,
};

export function writeSyntheticProfile(root: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'model-config.json'),
    JSON.stringify({
      model_type: 'qwen3_moe', num_hidden_layers: LAYERS, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2,
      head_dim: 16, vocab_size: 100, num_experts: 8, num_experts_per_tok: 2, moe_intermediate_size: 32, max_position_embeddings: 8192,
    }),
  );
  writeFileSync(join(root, 'meta.yaml'), 'vllm_version: test\ngpu: NVIDIA H100 80GB HBM3\nhardware: H100\nengine_effective:\n  max_num_seqs: 256\n  max_num_batched_tokens: 2048\n  block_size: 16\n');
  const dense = ['layer,tokens,time_us'];
  for (const t of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]) {
    dense.push(`embedding,${t},${1 + t / 1000}`, `layernorm,${t},${2 + t / 500}`, `qkv_proj,${t},${5 + t / 100}`);
  }
  writeFileSync(join(root, 'dense.csv'), dense.join('\n') + '\n');
  const moe = ['tokens,activated_experts,time_us'];
  for (const t of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]) for (const e of [2, 4, 8]) if (e <= 2 * t) moe.push(`${t},${e},${10 * e + t / 10}`);
  writeFileSync(join(root, 'moe.csv'), moe.join('\n') + '\n');
  writeFileSync(join(root, 'per_sequence.csv'), 'layer,sequences,time_us\nsampler,1,0\nsampler,256,0\n');
  const att = ['prefill_chunk,kv_prefill,n_decode,kv_decode,time_us'];
  for (const pc of [0, 16, 64, 256, 1024]) {
    for (const kp of pc > 0 ? [0, 128, 1024, 4096] : [0]) {
      for (const nd of [0, 1, 8, 64]) {
        if (pc === 0 && nd === 0) continue;
        for (const kd of nd > 0 ? [16, 512, 4096] : [0]) {
          const kvd = nd * kd;
          const pairs = pc * kp + (pc * (pc + 1)) / 2;
          const ps =
            KNOWN.base + KNOWN.perDecodeSeq * nd + KNOWN.perPrefillToken * pc + KNOWN.perKvTokenRead * (kvd + kp) +
            KNOWN.perAttnKiloPair * Math.floor(pairs / 1024) + KNOWN.perPrefillKvToken * kp +
            (pc > 0 ? KNOWN.perMixedDecodeKvToken * kvd + KNOWN.perMixedDecodeSeq * nd : 0);
          att.push(`${pc},${kp},${nd},${kd},${ps / 1e6 / LAYERS}`);
        }
      }
    }
  }
  writeFileSync(join(root, 'attention.csv'), att.join('\n') + '\n');
}

