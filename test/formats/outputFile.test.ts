// Output files never destroy what they should not: links are written through, FIFOs are written
// directly (never replaced), directories are refused, and temporary files never stay behind.
import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { writeResults } from '../../src/results/arrowWrite.ts';
import { OutputFile, checkOutputPath, cleanupTemporaryFiles, commitAll, writeFileAtomic } from '../../src/formats/outputFile.ts';
import { META, sampleResults } from '../results/fixtures.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'br-out-'));

describe('output targets', () => {
  it('a symbolic link is written through: the link stays, its target gets the file', async () => {
    const dir = tmp();
    const real = join(dir, 'real.arrow');
    writeFileSync(real, 'old');
    const link = join(dir, 'link.arrow');
    symlinkSync('real.arrow', link);
    await writeResults(link, sampleResults(), META);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('real.arrow');
    expect(readArrowFile(real).numRows).toBe(16);
    expect(readdirSync(dir).sort()).toEqual(['link.arrow', 'real.arrow']);
  });

  it('a dangling link creates its target', async () => {
    const dir = tmp();
    const link = join(dir, 'link.arrow');
    symlinkSync(join(dir, 'new.arrow'), link);
    await writeResults(link, sampleResults(), META);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readArrowFile(join(dir, 'new.arrow')).numRows).toBe(16);
  });

  it('a FIFO is written directly and stays a FIFO; its reader gets the whole file', async () => {
    const dir = tmp();
    const fifo = join(dir, 'pipe.arrow');
    execFileSync('mkfifo', [fifo]);
    const got = join(dir, 'got.arrow');
    // The reader is another process, as in `balanceroute run -o pipe.arrow & reader < pipe.arrow`.
    const reader = spawn('sh', ['-c', `cat "${fifo}" > "${got}"`]);
    const ended = new Promise<number>((res) => reader.on('exit', (c) => res(c ?? -1)));
    const target = checkOutputPath(fifo, 'output');
    expect(target.kind).toBe('special');
    await writeResults(fifo, sampleResults(), META);
    expect(await ended).toBe(0);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readArrowFile(got).numRows).toBe(16);
    expect(readdirSync(dir).sort()).toEqual(['got.arrow', 'pipe.arrow']);
  });

  it('refuses a directory, and a path under a regular file, before writing anything', () => {
    const dir = tmp();
    expect(() => checkOutputPath(dir, 'output')).toThrow(/^output: is a directory/);
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => checkOutputPath(join(dir, 'file', 'out.arrow'), 'output', { createDir: true })).toThrow(InputError);
    expect(readdirSync(dir)).toEqual(['file']);
  });

  it('abort removes the temporary file; commit puts it in place; cleanup removes what is left', () => {
    const dir = tmp();
    const a = OutputFile.openFile(checkOutputPath(join(dir, 'a.arrow'), 'output'));
    const b = OutputFile.openFile(checkOutputPath(join(dir, 'b.arrow'), 'timeseries'));
    a.write(new Uint8Array([1, 2, 3]));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toHaveLength(2);
    a.abort();
    expect(readdirSync(dir)).toEqual([b.tmp!.split('/').at(-1)]);
    expect(cleanupTemporaryFiles()).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
    const c = OutputFile.openFile(checkOutputPath(join(dir, 'c.arrow'), 'output'));
    const d = OutputFile.openFile(checkOutputPath(join(dir, 'd.arrow'), 'output'));
    c.write(new Uint8Array([7]));
    d.write(new Uint8Array([8, 9]));
    commitAll([c, d]);
    expect(readdirSync(dir).sort()).toEqual(['c.arrow', 'd.arrow']);
    expect([...readFileSync(join(dir, 'd.arrow'))]).toEqual([8, 9]);
  });

  it('writeFileAtomic follows links too (reports, model files)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'real.html'), 'old');
    symlinkSync('real.html', join(dir, 'r.html'));
    writeFileAtomic(join(dir, 'r.html'), (p) => writeFileSync(p, 'new'));
    expect(lstatSync(join(dir, 'r.html')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'real.html'), 'utf8')).toBe('new');
  });
});
