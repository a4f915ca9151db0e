/**
 * Accelerator specifications the analytic (roofline) presets are derived from. Every number
 * carries its source; "dense" tensor rates are the datasheets' figures without 2:4 sparsity
 * (NVIDIA lists the sparse rate first; dense is half of it). docs/step-model.md §2 has the table.
 */

/** How GPUs of one server reach each other for the expert-parallel collectives. */
export interface Interconnect {
  kind: 'nvlink' | 'pcie';
  /** Bandwidth per direction per GPU, bytes/s. */
  bytesPerSecond: number;
  /** Latency of one collective (dispatch or combine), seconds. */
  latencySeconds: number;
  source: string;
}

export interface GpuSpec {
  /** Short key used in preset names, e.g. `h100`. */
  key: string;
  name: string;
  /** Memory per GPU in bytes, as in the datasheet (decimal GB). */
  memoryBytes: number;
  /** Memory bandwidth, bytes/s. */
  memoryBytesPerSecond: number;
  /** Dense BF16 tensor-core rate, FLOP/s. */
  bf16FlopsPerSecond: number;
  /** Dense FP8 tensor-core rate, FLOP/s; 0 when the GPU has no FP8 tensor cores. */
  fp8FlopsPerSecond: number;
  interconnect: Interconnect;
  source: string;
}

const NVLINK_LATENCY_S = 15e-6;
const NVLINK_LATENCY_NOTE =
  '15 µs per collective: an assumption (small-message NCCL all-to-all on one NVLink node is of this order); not a datasheet figure';

export const GPUS: Record<string, GpuSpec> = {
  h100: {
    key: 'h100',
    name: 'NVIDIA H100 SXM5 80GB',
    memoryBytes: 80e9,
    memoryBytesPerSecond: 3.35e12,
    bf16FlopsPerSecond: 989.4e12,
    fp8FlopsPerSecond: 1978.9e12,
    interconnect: {
      kind: 'nvlink',
      bytesPerSecond: 450e9,
      latencySeconds: NVLINK_LATENCY_S,
      source: `NVLink 4, 900 GB/s per GPU (both directions), H100 datasheet; ${NVLINK_LATENCY_NOTE}`,
    },
    source:
      'NVIDIA H100 Tensor Core GPU datasheet (H100 SXM: 80 GB HBM3, 3.35 TB/s, BF16 1,979 TFLOPS and FP8 3,958 TFLOPS with sparsity), https://www.nvidia.com/en-us/data-center/h100/',
  },
  h200: {
    key: 'h200',
    name: 'NVIDIA H200 SXM 141GB',
    memoryBytes: 141e9,
    memoryBytesPerSecond: 4.8e12,
    bf16FlopsPerSecond: 989.4e12,
    fp8FlopsPerSecond: 1978.9e12,
    interconnect: {
      kind: 'nvlink',
      bytesPerSecond: 450e9,
      latencySeconds: NVLINK_LATENCY_S,
      source: `NVLink 4, 900 GB/s per GPU (both directions), H200 datasheet; ${NVLINK_LATENCY_NOTE}`,
    },
    source:
      'NVIDIA H200 Tensor Core GPU datasheet (H200 SXM: 141 GB HBM3e, 4.8 TB/s, BF16 1,979 TFLOPS and FP8 3,958 TFLOPS with sparsity), https://www.nvidia.com/en-us/data-center/h200/',
  },
  b200: {
    key: 'b200',
    name: 'NVIDIA B200 (HGX B200, 180GB)',
    memoryBytes: 180e9,
    memoryBytesPerSecond: 8e12,
    bf16FlopsPerSecond: 2.25e15,
    fp8FlopsPerSecond: 4.5e15,
    interconnect: {
      kind: 'nvlink',
      bytesPerSecond: 900e9,
      latencySeconds: NVLINK_LATENCY_S,
      source: `NVLink 5, 1.8 TB/s per GPU (both directions), HGX B200 datasheet; ${NVLINK_LATENCY_NOTE}`,
    },
    source:
      'NVIDIA HGX B200 / DGX B200 datasheet (8 GPUs: 1,440 GB HBM3e, 64 TB/s; per GPU FP8 9 PFLOPS and BF16 4.5 PFLOPS with sparsity), https://www.nvidia.com/en-us/data-center/hgx/',
  },
  gb200: {
    key: 'gb200',
    name: 'NVIDIA GB200 (GB200 NVL72, 186GB)',
    // Rack totals of the GB200 NVL72 datasheet divided by its 72 GPUs.
    memoryBytes: 186e9,
    memoryBytesPerSecond: 8e12,
    bf16FlopsPerSecond: 2.5e15,
    fp8FlopsPerSecond: 5e15,
    interconnect: {
      kind: 'nvlink',
      bytesPerSecond: 900e9,
      latencySeconds: NVLINK_LATENCY_S,
      source:
        `NVLink 5 with NVLink Switch: 130 TB/s over one 72-GPU domain = 1.8 TB/s per GPU (both directions), GB200 NVL72 datasheet, https://www.nvidia.com/en-us/data-center/gb200-nvl72/; ${NVLINK_LATENCY_NOTE}`,
    },
    source:
      'NVIDIA GB200 NVL72 datasheet, https://www.nvidia.com/en-us/data-center/gb200-nvl72/ (72 GPUs: up to 13.4 TB HBM3e at 576 TB/s; ' +
      'FP8 720 PFLOPS and FP16/BF16 360 PFLOPS with sparsity), per GPU 186 GB, 8 TB/s, dense FP8 5 PFLOPS and BF16 2.5 PFLOPS; ' +
      '186 GB per GPU as listed in MLPerf Inference system descriptions (accelerator_memory_capacity of "GB200-NVL72_GB200-186GB" systems, ' +
      'https://github.com/mlcommons/inference_results_v6.1)',
  },
  a100: {
    key: 'a100',
    name: 'NVIDIA A100 SXM4 80GB',
    memoryBytes: 80e9,
    memoryBytesPerSecond: 2.039e12,
    bf16FlopsPerSecond: 312e12,
    fp8FlopsPerSecond: 0,
    interconnect: {
      kind: 'nvlink',
      bytesPerSecond: 300e9,
      latencySeconds: NVLINK_LATENCY_S,
      source: `NVLink 3, 600 GB/s per GPU (both directions), A100 datasheet; ${NVLINK_LATENCY_NOTE}`,
    },
    source:
      'NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM: 80 GB HBM2e, 2,039 GB/s, BF16 312 TFLOPS dense, no FP8), https://www.nvidia.com/en-us/data-center/a100/',
  },
  rtxpro6000: {
    key: 'rtxpro6000',
    name: 'NVIDIA RTX PRO 6000 Blackwell Server Edition 96GB',
    memoryBytes: 96e9,
    memoryBytesPerSecond: 1.597e12,
    bf16FlopsPerSecond: 503.8e12,
    fp8FlopsPerSecond: 1007.6e12,
    interconnect: {
      kind: 'pcie',
      bytesPerSecond: 63.0e9,
      latencySeconds: 10e-6,
      source:
        'no NVLink: PCIe 5.0 x16, 32 GT/s x 16 lanes with 128b/130b coding = 63.0 GB/s per direction (PCI-SIG PCIe 5.0); ' +
        '10 µs per collective: NCCL all-gather/reduce-scatter of 4 KiB between two of these cards measured 9.8-10.5 µs ' +
        '(casys-kaist/LLMServingSim profiler/perf/RTXPRO6000/hardware.yaml)',
    },
    source:
      'NVIDIA RTX PRO 6000 Blackwell Server Edition datasheet (96 GB GDDR7 with ECC, 1.6 TB/s, PCIe Gen5 x16, 4 PFLOPS FP4 with sparsity), ' +
      'https://www.nvidia.com/en-us/data-center/rtx-pro-6000-blackwell-server-edition/; dense FP8 = FP4 sparse / 4 and BF16 = FP4 sparse / 8 ' +
      '(NVIDIA RTX Blackwell GPU architecture whitepaper: FP16/BF16 tensor 503.8 TFLOPS dense); bandwidth 1,597.6 GB/s = 512-bit bus x 12,481 MHz x 2 ' +
      '(device query, casys-kaist/LLMServingSim profiler/perf/RTXPRO6000/hardware.yaml)',
  },
};

/**
 * GPUs known only to profile calibration (`balanceroute calibrate PROFILE_DIR`): the profile
 * supplies every step time; the spec gives memory (KV capacity) and the link. No analytic
 * presets are generated for them.
 */
export const PROFILE_GPUS: Record<string, GpuSpec> = {
  rtx4090: {
    key: 'rtx4090',
    name: 'NVIDIA GeForce RTX 4090',
    // As CUDA reports it (25,250,627,584 B; vLLM run metadata in casys-kaist/LLMServingSim
    // bench/examples/RTX4090/Llama-3.1-8B/vllm/meta.json); the datasheet says 24 GB GDDR6X.
    memoryBytes: 25_250_627_584,
    memoryBytesPerSecond: 1.008e12,
    bf16FlopsPerSecond: 165.2e12,
    fp8FlopsPerSecond: 330.3e12,
    interconnect: {
      kind: 'pcie',
      bytesPerSecond: 31.5e9,
      latencySeconds: 10e-6,
      source: 'no NVLink: PCIe 4.0 x16, 16 GT/s x 16 lanes with 128b/130b coding = 31.5 GB/s per direction (PCI-SIG PCIe 4.0); 10 µs per collective assumed',
    },
    source:
      'NVIDIA Ada GPU architecture whitepaper (GeForce RTX 4090: 24 GB GDDR6X, 1,008 GB/s, FP16/BF16 tensor with FP32 accumulate 165.2 TFLOPS dense, FP8 330.3 TFLOPS dense)',
  },
};

/** Look a GPU up by key or by a name as vLLM's profiler writes it (`RTXPRO6000`, `H100`, ...). */
export function findGpu(nameOrKey: string): GpuSpec | undefined {
  const k = nameOrKey.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (GPUS[k]) return GPUS[k];
  if (PROFILE_GPUS[k]) return PROFILE_GPUS[k];
  if (k.includes('rtxpro6000')) return GPUS.rtxpro6000;
  if (k.includes('rtx4090') || k.includes('geforcertx4090')) return PROFILE_GPUS.rtx4090;
  for (const key of ['h200', 'h100', 'gb200', 'b200', 'a100']) if (k.includes(key)) return GPUS[key];
  return undefined;
}
