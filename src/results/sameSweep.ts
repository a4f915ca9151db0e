// Files that are read together (shards to merge; a time series and the results that label it)
// must come from one sweep: their `sweep_fingerprint` metadata must agree.
import { FINGERPRINT_KEY } from '../config/fingerprint.ts';
import { InputError } from '../errors.ts';
import type { ArrowFileData } from '../formats/arrowRead.ts';

/**
 * Throw an InputError naming `field` when two files carry different fingerprints. Files written
 * before fingerprints existed carry none and are let through.
 */
export function assertSameSweep(files: readonly ArrowFileData[], field: string, advice: string): void {
  const withPrint = files.filter((f) => f.metadata[FINGERPRINT_KEY] !== undefined);
  const first = withPrint[0];
  for (const f of withPrint) {
    if (f.metadata[FINGERPRINT_KEY] !== first.metadata[FINGERPRINT_KEY]) {
      throw new InputError(
        field,
        f.path,
        `is from another sweep than ${first.path} (sweep_fingerprint ${f.metadata[FINGERPRINT_KEY]}, not ${first.metadata[FINGERPRINT_KEY]}); ${advice}`,
      );
    }
  }
}
