/**
 * Links that carry a prompt's KV cache from a prefill instance to a decode rank under
 * prefill/decode disaggregation (docs/pd.md). One figure per link: the bandwidth one transfer
 * gets and a fixed per-transfer latency. Bandwidths are the vendor's per-GPU, per-direction
 * figures times the 70% achieved-bandwidth assumption the analytic presets already make for
 * links (docs/model.md §9); latencies are assumptions (no vendor figure covers a whole transfer:
 * connector handshake, descriptor setup, completion), stated as such in docs/pd.md.
 */
import { InputError } from '../errors.ts';

export const KV_LINK_NAMES = ['nvlink', 'nvlink5', 'ib', 'roce'] as const;
export type KvLinkName = (typeof KV_LINK_NAMES)[number];

/** Share of a link's nominal bandwidth assumed achieved (as for NVLink in docs/model.md §9). */
export const LINK_EFFICIENCY = 0.7;

export interface KvLinkPreset {
  /** Nominal bandwidth per GPU and direction, Gb/s. */
  nominalGbps: number;
  /** Per-transfer latency, µs (an assumption). */
  latencyUs: number;
  /** Where the nominal figure comes from. */
  source: string;
}

export const KV_LINKS: Readonly<Record<KvLinkName, KvLinkPreset>> = {
  // 900 GB/s of NVLink 4 per GPU is both directions together: 450 GB/s = 3600 Gb/s each way.
  nvlink: { nominalGbps: 3600, latencyUs: 5, source: 'NVIDIA H100 / H200 SXM datasheets: NVLink 4, 900 GB/s per GPU (450 GB/s per direction)' },
  // NVLink 5: 1.8 TB/s per GPU, 900 GB/s = 7200 Gb/s each way.
  nvlink5: { nominalGbps: 7200, latencyUs: 5, source: 'NVIDIA B200 / GB200 NVL72 datasheets: NVLink 5, 1.8 TB/s per GPU (900 GB/s per direction)' },
  ib: { nominalGbps: 400, latencyUs: 10, source: 'NVIDIA DGX H100 / H200: one ConnectX-7 400 Gb/s NDR InfiniBand port per GPU' },
  roce: { nominalGbps: 400, latencyUs: 10, source: 'NVIDIA ConnectX-7 / BlueField-3 at 400 GbE (RoCE v2), one port per GPU' },
};

/** The link a scenario uses: its preset, with `kv_link_gbps` / `kv_link_latency_us` overriding. */
export interface KvLink {
  name: string;
  /** Bandwidth one transfer gets, Gb/s (> 0). */
  gbps: number;
  latencyUs: number;
}

export function resolveKvLink(name: string | undefined, gbps?: number, latencyUs?: number): KvLink {
  const n = (name ?? 'ib') as KvLinkName;
  const p = KV_LINKS[n];
  if (!p) throw new InputError('kv_link', name, `unknown link; known: ${KV_LINK_NAMES.join(', ')}`);
  const bw = gbps ?? p.nominalGbps * LINK_EFFICIENCY;
  if (!(bw > 0)) throw new InputError('kv_link_gbps', gbps, 'must be > 0 Gb/s');
  const lat = latencyUs ?? p.latencyUs;
  if (!(lat >= 0)) throw new InputError('kv_link_latency_us', latencyUs, 'must be >= 0 µs');
  return { name: n, gbps: bw, latencyUs: lat };
}

/**
 * Time to move `tokens` tokens of KV over the link, integer µs: the bytes over the bandwidth,
 * rounded up, plus the latency rounded to a µs. Transfers do not contend (docs/pd.md).
 */
export function kvTransferUs(tokens: number, bytesPerToken: number, link: KvLink): number {
  const bits = tokens * bytesPerToken * 8;
  return Math.ceil(bits / (link.gbps * 1000)) + Math.round(link.latencyUs);
}
