// Output files appear whole or not at all: write a temporary file next to the target, then
// rename (atomic within one file system). A failed or interrupted write leaves no partial file.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.ts';

/**
 * Call `write(tmpPath)` to produce the file, then move it to `path`. On any error the temporary
 * file is removed. File-system errors (missing directory, no permission) are InputErrors naming
 * `field` (the flag that gave the path).
 */
export function writeFileAtomic(path: string, write: (tmpPath: string) => void, field = 'output'): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    write(tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      throw new InputError(field, path, `cannot write the file (${code}${code === 'ENOENT' ? ': does the directory exist?' : ''})`);
    }
    throw e;
  }
}
