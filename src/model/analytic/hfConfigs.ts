/**
 * The architecture fields of the models the built-in presets cover, copied from their Hugging
 * Face `config.json` files (fields the step model does not use are left out). Any other model:
 * `balanceroute calibrate path/to/config.json --gpu h100`.
 */

export interface ShippedConfig {
  /** Short key used in preset names. */
  key: string;
  name: string;
  source: string;
  config: Record<string, unknown>;
}

export const HF_CONFIGS: Record<string, ShippedConfig> = {
  'qwen3-30b-a3b': {
    key: 'qwen3-30b-a3b',
    name: 'Qwen3-30B-A3B',
    source: 'https://huggingface.co/Qwen/Qwen3-30B-A3B/blob/main/config.json',
    config: {
      model_type: 'qwen3_moe',
      num_hidden_layers: 48,
      hidden_size: 2048,
      num_attention_heads: 32,
      num_key_value_heads: 4,
      head_dim: 128,
      vocab_size: 151936,
      tie_word_embeddings: false,
      num_experts: 128,
      num_experts_per_tok: 8,
      moe_intermediate_size: 768,
      intermediate_size: 6144,
      decoder_sparse_step: 1,
      mlp_only_layers: [],
      max_position_embeddings: 40960,
      torch_dtype: 'bfloat16',
    },
  },
  'deepseek-v3': {
    key: 'deepseek-v3',
    name: 'DeepSeek-V3',
    source: 'https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json',
    config: {
      model_type: 'deepseek_v3',
      num_hidden_layers: 61,
      hidden_size: 7168,
      num_attention_heads: 128,
      num_key_value_heads: 128,
      vocab_size: 129280,
      tie_word_embeddings: false,
      n_routed_experts: 256,
      num_experts_per_tok: 8,
      n_shared_experts: 1,
      moe_intermediate_size: 2048,
      intermediate_size: 18432,
      first_k_dense_replace: 3,
      q_lora_rank: 1536,
      kv_lora_rank: 512,
      qk_nope_head_dim: 128,
      qk_rope_head_dim: 64,
      v_head_dim: 128,
      max_position_embeddings: 163840,
      torch_dtype: 'bfloat16',
      quantization_config: { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128] },
    },
  },
  'mixtral-8x7b': {
    key: 'mixtral-8x7b',
    name: 'Mixtral-8x7B',
    source: 'https://huggingface.co/mistralai/Mixtral-8x7B-v0.1/blob/main/config.json',
    config: {
      model_type: 'mixtral',
      num_hidden_layers: 32,
      hidden_size: 4096,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      vocab_size: 32000,
      tie_word_embeddings: false,
      num_local_experts: 8,
      num_experts_per_tok: 2,
      intermediate_size: 14336,
      max_position_embeddings: 32768,
      torch_dtype: 'bfloat16',
    },
  },
};
