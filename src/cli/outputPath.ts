import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors.ts';

/**
 * Make sure an output file's directory exists before a long simulation starts, so a typo in
 * the path fails at once instead of after the sweep.
 */
export function prepareOutputDir(path: string | undefined, field: string): void {
  if (!path) return;
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw new InputError(field, path, `cannot create the output directory (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
