/**
 * A model's architecture as the step-time model needs it, read from a Hugging Face
 * `config.json` (Qwen3-MoE, Mixtral, DeepSeek-V3/MLA and dense Llama-style configs), and the
 * quantities derived from it: weights per kind, KV bytes per token, FLOPs per token and per
 * attention (query, key) pair. docs/step-model.md §1 writes the formulas out.
 */
import { InputError } from '../../errors.ts';

export interface ModelArchitecture {
  modelType: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  tiedEmbeddings: boolean;
  /** Routed experts per MoE layer (0 for a dense model). */
  experts: number;
  topK: number;
  /** Width of one routed expert's MLP (moe_intermediate_size). */
  expertWidth: number;
  /** Shared (always active) experts per MoE layer, each expertWidth wide (DeepSeek). */
  sharedExperts: number;
  /** Layers that run a dense MLP of width denseWidth instead of experts. */
  denseLayers: number;
  denseWidth: number;
  /** Multi-head latent attention (DeepSeek-V2/V3); undefined for GQA/MHA. */
  mla?: { qLoraRank: number; kvLoraRank: number; qkNopeHeadDim: number; qkRopeHeadDim: number; vHeadDim: number };
  /** Bytes per weight (2 for BF16, 1 for FP8 checkpoints). */
  weightBytes: number;
  /** Bytes per KV-cache element (vLLM's default cache dtype follows the activations: 2). */
  kvBytes: number;
  maxPositionEmbeddings: number;
}

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, field: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new InputError(`${field}.${key}`, v, 'missing from the model config (a Hugging Face config.json)');
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InputError(`${field}.${key}`, v, 'must be a non-negative number');
  }
  return v;
}

/** Read the fields the step model needs from a Hugging Face config.json object. */
export function architectureFromHfConfig(raw: unknown, field = 'config'): ModelArchitecture {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError(field, raw, 'must be a JSON object (a Hugging Face config.json)');
  }
  const cfg = (raw as Json).text_config && typeof (raw as Json).text_config === 'object' ? ((raw as Json).text_config as Json) : (raw as Json);
  const modelType = String(cfg.model_type ?? (raw as Json).model_type ?? 'unknown');
  const layers = num(cfg, 'num_hidden_layers', field);
  const hidden = num(cfg, 'hidden_size', field);
  const heads = num(cfg, 'num_attention_heads', field);
  const kvHeads = num(cfg, 'num_key_value_heads', field, heads);
  const headDim = num(cfg, 'head_dim', field, Math.floor(hidden / heads));
  const vocab = num(cfg, 'vocab_size', field);
  const tiedEmbeddings = cfg.tie_word_embeddings === true;
  const experts = num(cfg, 'num_experts', field, num(cfg, 'num_local_experts', field, num(cfg, 'n_routed_experts', field, 0)));
  const topK = experts > 0 ? num(cfg, 'num_experts_per_tok', field) : 0;
  const denseWidth = num(cfg, 'intermediate_size', field, 0);
  // Mixtral names its expert width intermediate_size; Qwen3-MoE and DeepSeek use moe_intermediate_size.
  const expertWidth = experts > 0 ? num(cfg, 'moe_intermediate_size', field, denseWidth) : 0;
  const sharedExperts = num(cfg, 'n_shared_experts', field, 0);
  let denseLayers = experts > 0 ? 0 : layers;
  if (experts > 0) {
    if (cfg.first_k_dense_replace !== undefined) denseLayers = num(cfg, 'first_k_dense_replace', field);
    else if (Array.isArray(cfg.mlp_only_layers)) denseLayers = cfg.mlp_only_layers.length;
    const step = num(cfg, 'decoder_sparse_step', field, 1);
    if (step > 1) denseLayers = layers - Math.floor(layers / step);
  }
  const mla =
    cfg.kv_lora_rank !== undefined && cfg.kv_lora_rank !== null
      ? {
          qLoraRank: num(cfg, 'q_lora_rank', field, 0),
          kvLoraRank: num(cfg, 'kv_lora_rank', field),
          qkNopeHeadDim: num(cfg, 'qk_nope_head_dim', field),
          qkRopeHeadDim: num(cfg, 'qk_rope_head_dim', field),
          vHeadDim: num(cfg, 'v_head_dim', field),
        }
      : undefined;
  const q = (cfg.quantization_config ?? {}) as Json;
  const dtype = String(cfg.torch_dtype ?? cfg.dtype ?? 'bfloat16');
  const weightBytes = String(q.quant_method ?? '').startsWith('fp8') ? 1 : dtype === 'float32' ? 4 : 2;
  return {
    modelType,
    layers,
    hidden,
    heads,
    kvHeads,
    headDim,
    vocab,
    tiedEmbeddings,
    experts,
    topK,
    expertWidth,
    sharedExperts,
    denseLayers,
    denseWidth,
    mla,
    weightBytes,
    kvBytes: 2,
    maxPositionEmbeddings: num(cfg, 'max_position_embeddings', field, 4096),
  };
}

/** Parameter counts and derived per-token quantities of an architecture. */
export interface ArchitectureFigures {
  /** Attention projection parameters of one layer. */
  attentionParamsPerLayer: number;
  /** Parameters of one routed expert (gate, up, down). */
  expertParams: number;
  moeLayers: number;
  /** Parameters every rank holds: embeddings, LM head, attention, norms, routers, dense MLPs, shared experts. */
  sharedParams: number;
  /** Routed-expert parameters of the whole model (split across ranks under EP). */
  expertParamsTotal: number;
  /** Parameters one token's forward pass multiplies with (LM head included, embedding lookup not). */
  activeParams: number;
  sharedWeightBytes: number;
  expertWeightBytes: number;
  /** KV-cache bytes per token over all layers. */
  kvBytesPerToken: number;
  /** FLOPs per (query, key) pair over all layers (QK^T and PV, prefill form). */
  attnFlopsPerPair: number;
}

export function architectureFigures(a: ModelArchitecture): ArchitectureFigures {
  let attn: number;
  let kvPerLayer: number;
  let flopsPerPairPerLayer: number;
  if (a.mla) {
    const m = a.mla;
    const qProj = m.qLoraRank > 0 ? a.hidden * m.qLoraRank + m.qLoraRank * a.heads * (m.qkNopeHeadDim + m.qkRopeHeadDim) : a.hidden * a.heads * (m.qkNopeHeadDim + m.qkRopeHeadDim);
    const kvProj = a.hidden * (m.kvLoraRank + m.qkRopeHeadDim) + m.kvLoraRank * a.heads * (m.qkNopeHeadDim + m.vHeadDim);
    attn = qProj + kvProj + a.heads * m.vHeadDim * a.hidden;
    // vLLM caches the compressed latent and the rope key once per token and layer.
    kvPerLayer = (m.kvLoraRank + m.qkRopeHeadDim) * a.kvBytes;
    // Prefill runs MLA as ordinary attention over qk = nope + rope and v = v_head_dim.
    flopsPerPairPerLayer = 2 * a.heads * (m.qkNopeHeadDim + m.qkRopeHeadDim + m.vHeadDim);
  } else {
    attn = a.hidden * a.heads * a.headDim + 2 * a.hidden * a.kvHeads * a.headDim + a.heads * a.headDim * a.hidden;
    kvPerLayer = 2 * a.kvHeads * a.headDim * a.kvBytes;
    flopsPerPairPerLayer = 4 * a.heads * a.headDim;
  }
  const moeLayers = a.experts > 0 ? a.layers - a.denseLayers : 0;
  const expertParams = 3 * a.hidden * a.expertWidth;
  const norms = a.layers * 2 * a.hidden + a.hidden;
  const embeddings = a.vocab * a.hidden * (a.tiedEmbeddings ? 1 : 2);
  const routers = moeLayers * a.hidden * a.experts;
  const denseMlp = a.denseLayers * 3 * a.hidden * a.denseWidth;
  const shared = moeLayers * a.sharedExperts * expertParams;
  const sharedParams = embeddings + a.layers * attn + norms + routers + denseMlp + shared;
  const expertParamsTotal = moeLayers * a.experts * expertParams;
  const activeParams = a.vocab * a.hidden + a.layers * attn + routers + denseMlp + shared + moeLayers * a.topK * expertParams;
  return {
    attentionParamsPerLayer: attn,
    expertParams,
    moeLayers,
    sharedParams,
    expertParamsTotal,
    activeParams,
    sharedWeightBytes: sharedParams * a.weightBytes,
    expertWeightBytes: expertParamsTotal * a.weightBytes,
    kvBytesPerToken: a.layers * kvPerLayer,
    attnFlopsPerPair: a.layers * flopsPerPairPerLayer,
  };
}
