// Where an output goes and how it gets there without ever destroying what it should not.
//
// A regular file (or a path that does not exist yet) is written to a temporary file beside its
// real location and renamed into place when the command succeeds, so it appears whole or not at
// all. A symbolic link is followed: the file it points to is replaced, the link stays. A device
// or a FIFO is written directly (it cannot be replaced, and `-o /dev/null` must not turn
// /dev/null into a regular file). Anything else (a directory, a socket) is refused.
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, open as openCb, constants, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';

import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../errors.ts';

/** What an output path names once symbolic links are followed. */
export interface OutputTarget {
  /** The path as given (for messages). */
  given: string;
  /** The flag that gave it (for messages), e.g. `output`, `timeseries`. */
  field: string;
  /** Absolute path with every symbolic link resolved (also for a file that does not exist yet). */
  real: string;
  /** `file`: an existing regular file or a new one (atomic replace); `special`: a device or FIFO (written directly). */
  kind: 'file' | 'special';
}

/** Follow symbolic links, also to a target that does not exist yet (a dangling link creates its target). */
function resolveReal(path: string, field: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new InputError(field, path, `cannot use this path (${code === 'ENOTDIR' ? 'ENOTDIR: a part of it is a file, not a directory' : (code ?? 'error')})`);
      // Not there (yet): resolve the directory part, which may itself hold links.
      let dir = dirname(p);
      try {
        dir = realpathSync(dir);
      } catch {
        // a directory still to be created: keep the lexical path
      }
      return join(dir, basename(p));
    }
    if (!st.isSymbolicLink()) {
      try {
        return realpathSync(p);
      } catch {
        return p;
      }
    }
    const link = readlinkSync(p);
    p = isAbsolute(link) ? link : resolve(dirname(p), link);
  }
  throw new InputError(field, path, 'too many levels of symbolic links');
}

/**
 * Check an output path before any work is done (a long sweep must not fail at its end): follow
 * links, refuse a directory or a socket, create a missing parent directory (when `createDir`)
 * or refuse it, and check that the directory (for a file) or the device (for a special file) is
 * writable.
 */
export function checkOutputPath(path: string, field: string, opts: { createDir?: boolean; stdout?: boolean } = {}): OutputTarget {
  if (path === '') throw new InputError(field, path, 'is empty');
  if (path === '-') {
    // Standard output, where the format allows it (docs/output.md); written directly.
    if (!opts.stdout) throw new InputError(field, path, 'this output cannot go to standard output; give a file name');
    stdoutTaken = true;
    return { given: path, field, real: '/dev/stdout', kind: 'special' };
  }
  // `-o out/` names a directory: refuse it rather than write a file called `out`.
  if (/[/\\]$/.test(path)) throw new InputError(field, path, 'ends with a slash (a directory); give a file name');
  const real = resolveReal(path, field);
  let st;
  try {
    st = statSync(real);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new InputError(field, path, 'is a directory; give a file name');
  if (st && !st.isFile()) {
    if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      try {
        accessSync(real, constants.W_OK);
      } catch (e) {
        throw new InputError(field, path, `cannot write to it (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      return { given: path, field, real, kind: 'special' };
    }
    throw new InputError(field, path, 'is neither a regular file, a device nor a FIFO');
  }
  const dir = dirname(real);
  if (opts.createDir) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new InputError(field, path, `cannot create the output directory (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else if (!safeStat(dir)?.isDirectory()) {
    throw new InputError(field, path, 'cannot write the file (ENOENT: does the directory exist?)');
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new InputError(field, path, `cannot write in its directory (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return { given: path, field, real, kind: 'file' };
}

/** Whether an output of this command goes to standard output (`-o -`): messages then go to stderr. */
let stdoutTaken = false;

/** Where a command prints its human-readable summary: stdout, unless an output took it (`-o -`). */
export function messageStream(): NodeJS.WriteStream {
  return stdoutTaken ? process.stderr : process.stdout;
}

/** Temporary files of this process that are not committed yet: removed on any exit (see cleanupTemporaryFiles). */
const liveTemporaries = new Set<OutputFile>();

/** Bytes are gathered into writes of about this size. */
const FLUSH_BYTES = 1 << 20;

/**
 * One output being written. Bytes go to a temporary file (regular targets) or straight to the
 * device/FIFO; `commit()` puts a temporary file in place, `abort()` removes it.
 */
export class OutputFile {
  readonly target: OutputTarget;
  /** The temporary file, for regular targets. */
  readonly tmp: string | undefined;
  private fd: number | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes written so far. */
  bytes = 0;
  private state: 'open' | 'closed' | 'committed' | 'aborted' = 'open';

  private constructor(target: OutputTarget, fd: number, tmp: string | undefined) {
    this.target = target;
    this.fd = fd;
    this.tmp = tmp;
    if (tmp) liveTemporaries.add(this);
  }

  /**
   * Open an output. A FIFO is opened without blocking the event loop (opening it waits for a
   * reader, and a signal must still be able to stop the process meanwhile).
   */
  static async open(target: OutputTarget): Promise<OutputFile> {
    if (target.kind === 'special') {
      // Not O_CREAT: if the path stopped being a device or FIFO, nothing is created.
      const fd = await new Promise<number>((res, rej) => openCb(target.real, constants.O_WRONLY | constants.O_TRUNC, (e, fd) => (e ? rej(e) : res(fd)))).catch((e) => {
        throw new InputError(target.field, target.given, `cannot open it for writing (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      });
      return new OutputFile(target, fd, undefined);
    }
    return OutputFile.openFile(target);
  }

  /** Open a regular target synchronously (a temporary file beside it). */
  static openFile(target: OutputTarget): OutputFile {
    if (target.kind !== 'file') throw new Error('openFile: not a regular target');
    const tmp = join(dirname(target.real), `.${basename(target.real)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    let fd;
    try {
      fd = openSync(tmp, 'wx', 0o666);
    } catch (e) {
      throw writeError(target, e);
    }
    return new OutputFile(target, fd, tmp);
  }

  write(bytes: Uint8Array): void {
    if (this.state !== 'open') throw new Error(`output ${this.target.given} is ${this.state}`);
    if (bytes.byteLength === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    this.bytes += bytes.byteLength;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pendingBytes === 0 || this.fd === undefined) return;
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let off = 0; off < buf.byteLength; ) off += writeSync(this.fd, buf, off, buf.byteLength - off);
    } catch (e) {
      throw writeError(this.target, e);
    }
  }

  /** Flush and close the file; it is not in place yet (see commit). Idempotent. */
  close(): void {
    if (this.state !== 'open') return;
    this.flush();
    const fd = this.fd;
    this.fd = undefined;
    this.state = 'closed';
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch (e) {
        throw writeError(this.target, e);
      }
    }
  }

  /** Put a closed output in place: rename the temporary file over the real target. */
  commit(): void {
    if (this.state === 'open') this.close();
    if (this.state !== 'closed') throw new Error(`output ${this.target.given} is ${this.state}`);
    if (this.tmp) {
      try {
        // A file that became a non-regular file since the check is not replaced.
        const now = safeStat(this.target.real);
        if (now && !now.isFile()) throw new InputError(this.target.field, this.target.given, 'is no longer a regular file; not replaced');
        renameSync(this.tmp, this.target.real);
      } catch (e) {
        this.abort();
        throw e instanceof InputError ? e : writeError(this.target, e);
      }
      liveTemporaries.delete(this);
    }
    this.state = 'committed';
  }

  /** Drop the output: close it and remove its temporary file. Safe to call at any time, more than once. */
  abort(): void {
    if (this.state === 'committed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.pending = [];
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
    }
    if (this.tmp) {
      rmSync(this.tmp, { force: true });
      liveTemporaries.delete(this);
    }
  }

  /** The size of what was written (for a regular target, the temporary file's size). */
  size(): number {
    if (this.fd !== undefined) return fstatSync(this.fd).size + this.pendingBytes;
    return this.bytes;
  }
}

function safeStat(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function writeError(target: OutputTarget, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new InputError(target.field, target.given, `cannot write the file (${code}${code === 'ENOENT' ? ': does the directory exist?' : ''})`);
  }
  return e as Error;
}

/**
 * Commit several outputs as one: all are complete before the first is renamed, and the renames
 * run back to back in one synchronous step (no signal handler can run in between). If a rename
 * fails, the remaining ones are dropped.
 */
export function commitAll(outputs: readonly OutputFile[]): void {
  for (const o of outputs) o.close();
  try {
    for (const o of outputs) o.commit();
  } finally {
    for (const o of outputs) o.abort();
  }
}

/** Remove every temporary file this process still has (on exit, on a signal). Synchronous. */
export function cleanupTemporaryFiles(): number {
  const n = liveTemporaries.size;
  for (const o of [...liveTemporaries]) o.abort();
  return n;
}

/**
 * Write a small file in one go (a report, a model file): through links, directly to devices,
 * atomically for regular files, to file descriptor 1 for `-` (with `stdout`). `write(path or
 * descriptor)` produces the bytes.
 */
export function writeFileAtomic(path: string, write: (tmpPath: string | number) => void, field = 'output', opts: { stdout?: boolean } = {}): void {
  const target = checkOutputPath(path, field, opts);
  if (target.given === '-') {
    // Standard output by its descriptor: /dev/stdout cannot be opened when it is a socket.
    try {
      write(1);
    } catch (e) {
      throw writeError(target, e);
    }
    return;
  }
  if (target.kind === 'special') {
    // A device or FIFO is written in place (opening it does not replace it).
    try {
      write(target.real);
    } catch (e) {
      throw writeError(target, e);
    }
    return;
  }
  const out = OutputFile.openFile(target);
  try {
    out.close();
    write(out.tmp!);
    out.commit();
  } catch (e) {
    out.abort();
    throw e instanceof InputError ? e : writeError(target, e);
  }
}

/** A file a command reads, and what it is for messages (`the sweep file`, `the trace file of configuration 3`). */
export interface NamedPath {
  what: string;
  path: string;
}

/**
 * Refuse an output that is an input or another output: compared by real path (links, `./x`)
 * and by device and inode (a hard link or a bind mount has another path but is the same file).
 * The one rule every command applies before any work (docs/output.md).
 */
export function checkDistinct(outputs: readonly { what: string; target: OutputTarget }[], inputs: readonly NamedPath[]): void {
  const realInput = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const seenInputs = new Map<string, string>();
  for (const i of inputs) {
    if (!seenInputs.has(realInput(i.path))) seenInputs.set(realInput(i.path), i.what);
    const id = identityOf(i.path);
    if (id !== undefined && !seenInputs.has(id)) seenInputs.set(id, i.what);
  }
  for (const [k, o] of outputs.entries()) {
    const id = o.target.kind === 'file' ? identityOf(o.target.real) : undefined;
    const input = seenInputs.get(o.target.real) ?? (id !== undefined ? seenInputs.get(id) : undefined);
    if (input !== undefined) {
      throw new InputError(o.target.field, o.target.given, `is also ${input}; writing it would replace an input, choose another path`);
    }
    if (o.target.kind === 'special' && isCharacterDevice(o.target.real)) continue;
    for (const other of outputs.slice(0, k)) {
      if (other.target.real === o.target.real) {
        throw new InputError(o.target.field, o.target.given, `is also ${other.what}; each output needs its own file`);
      }
    }
  }
}

/** Device and inode of an existing regular file (`dev:ino`), else undefined. */
function identityOf(p: string): string | undefined {
  try {
    const st = statSync(p);
    return st.isFile() ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

function isCharacterDevice(p: string): boolean {
  try {
    return statSync(p).isCharacterDevice();
  } catch {
    return false;
  }
}
