/**
 * What a load run takes from a `balanceroute gateway` decision log: the rank each request was
 * sent to (joined on `request_id`, the x-request-id loadgen sends) and the gateway's router,
 * knobs and number of ranks (schema metadata), which `predict` uses as its defaults.
 *
 * The decision log is an Arrow IPC stream written in batches while the gateway runs; a stream cut
 * short by a crash is read up to its last complete batch.
 */

import { readInputFile } from '../formats/inputFile.ts';
import { RecordBatchReader, Table, tableFromIPC, type RecordBatch } from 'apache-arrow';
import { InputError } from '../errors.ts';

export interface GatewayLog {
  rankById: Map<string, number>;
  router: string | null;
  routerParams: string | null;
  ranks: number | null;
  /** The gateway's --admission (null: a log from before the flag, i.e. immediate). */
  admission: string | null;
  /** Its --wave-timeout-ms with --admission wave, else null. */
  waveTimeoutMs: number | null;
}

function readTable(path: string): Table {
  let bytes: Uint8Array;
  try {
    bytes = readInputFile(path, 'gateway_log', 'arrow', 'gateway log');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('gateway_log', path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return tableFromIPC(bytes);
  } catch {
    // A torn last message: keep the complete batches.
  }
  try {
    const reader = RecordBatchReader.from(bytes);
    reader.open();
    const batches: RecordBatch[] = [];
    for (let r = reader.next(); !r.done; r = reader.next()) batches.push(r.value);
    return new Table(reader.schema, batches);
  } catch {
    throw new InputError('gateway_log', path, 'not an Arrow IPC file or stream (expected the --log file of `balanceroute gateway`)');
  }
}

export function readGatewayLog(path: string): GatewayLog {
  const t = readTable(path);
  const ids = t.getChild('request_id');
  const ranks = t.getChild('rank');
  if (!ids || !ranks) throw new InputError('gateway_log', path, 'has no request_id and rank columns; not a gateway decision log');
  const rankById = new Map<string, number>();
  for (let i = 0; i < t.numRows; i++) {
    const id = ids.get(i);
    const r = ranks.get(i);
    if (typeof id === 'string' && typeof r === 'number' && r >= 0) rankById.set(id, r);
  }
  const meta = t.schema.metadata;
  const n = Number(meta.get('ranks'));
  return {
    rankById,
    router: meta.get('router') ?? null,
    routerParams: meta.get('router_params') ?? null,
    ranks: Number.isInteger(n) && n > 0 ? n : null,
    admission: meta.get('admission') ?? null,
    waveTimeoutMs: meta.has('wave_timeout_ms') && Number.isFinite(Number(meta.get('wave_timeout_ms'))) ? Number(meta.get('wave_timeout_ms')) : null,
  };
}
