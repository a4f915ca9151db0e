// What a command may read: a regular file under a size limit (docs/output.md, "Inputs"). A
// device (`--trace /dev/zero`), a FIFO or a directory is refused before a byte is read, so no
// input can make a command read without bound; a file over its limit is refused with the limit.
// Traces are streamed line by line (src/workload/traceReader.ts), so their limit is far above
// what one JavaScript string can hold (about 512 MiB).
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { InputError } from '../errors.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Largest input of each kind, bytes. */
export const INPUT_LIMITS = {
  /** Configuration-like text: sweep files, model files, tokenizers, profile tables, JSON configs. */
  text: 256 * MiB,
  /** ShareGPT-style datasets (parsed as one JSON document). */
  dataset: 1 * GiB,
  /** Arrow files (result files, logs, time series): read into one buffer. */
  arrow: 2 * GiB - 1,
  /** Traces (CSV / JSON Lines streamed; Arrow traces are also bounded by `arrow`). */
  trace: 64 * GiB,
} as const;

export type InputKind = keyof typeof INPUT_LIMITS;

function human(bytes: number): string {
  return bytes >= GiB ? `${+(bytes / GiB).toFixed(1)} GiB` : `${+(bytes / MiB).toFixed(1)} MiB`;
}

function kindOfNonFile(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Check an input path: it must exist, be a regular file (links followed) and be at most the
 * kind's limit. Throws a one-line InputError naming `field`; returns the file's stat.
 */
export function checkInputFile(path: string, field: string, kind: InputKind, what = 'file'): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new InputError(field, path, `cannot read the ${what} (${code})`);
  }
  return checkStat(st, path, field, kind, what);
}

function checkStat(st: Stats, path: string, field: string, kind: InputKind, what: string): Stats {
  if (!st.isFile()) throw new InputError(field, path, `is ${kindOfNonFile(st)}, not a regular file; give the ${what} as a file`);
  const limit = INPUT_LIMITS[kind];
  if (st.size > limit) throw new InputError(field, path, `is ${human(st.size)}; a ${what} may be at most ${human(limit)}`);
  return st;
}

/**
 * Read a whole input after checking it (on the open descriptor: the file cannot be swapped for a
 * device between the check and the read).
 */
export function readInputFile(path: string, field: string, kind: InputKind, what = 'file'): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    // A FIFO cannot be opened without a writer; stat says what it is first.
    throw new InputError(field, path, `cannot read the ${what} (${code})`);
  }
  try {
    const st = checkStat(fstatSync(fd), path, field, kind, what);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break; // shrank while reading
      off += n;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(field, path, `cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`);
  } finally {
    closeSync(fd);
  }
}

/** `readInputFile` as UTF-8 text (a byte-order mark is kept; callers strip it where they must). */
export function readInputText(path: string, field: string, kind: InputKind = 'text', what = 'file'): string {
  return readInputFile(path, field, kind, what).toString('utf8');
}

/**
 * Call `onLine` for each line of a file (without its `\n`; a trailing `\r` is kept), reading in
 * chunks: the file is never held in one string. Lines are numbered from 1. `onLine` returns
 * false to stop early.
 */
export function forEachLine(path: string, field: string, kind: InputKind, what: string, onLine: (line: string, lineNo: number) => boolean | void): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new InputError(field, path, `cannot read the ${what} (${code})`);
  }
  try {
    checkStat(fstatSync(fd), path, field, kind, what);
    const chunk = Buffer.allocUnsafe(8 * MiB);
    // Bytes of the line being assembled (a line may span chunks; decoded once whole, so a
    // multi-byte character split across chunks stays intact).
    let parts: Buffer[] = [];
    let lineNo = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl >= 0 && nl < n; nl = chunk.indexOf(10, start)) {
        parts.push(chunk.subarray(start, nl));
        const line = parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts).toString('utf8');
        parts = [];
        start = nl + 1;
        if (onLine(line, ++lineNo) === false) return;
      }
      if (start < n) parts.push(Buffer.from(chunk.subarray(start, n)));
    }
    if (parts.length > 0) onLine(Buffer.concat(parts).toString('utf8'), ++lineNo);
  } catch (e) {
    if (e instanceof InputError) throw e;
    if (e instanceof RangeError) throw new InputError(field, path, `has a line too long to hold as one string (over about 512 MiB)`);
    throw e;
  } finally {
    closeSync(fd);
  }
}

/** Identity of an existing file (device and inode), or undefined. Two paths with one identity are one file, whatever their names. */
export function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}
