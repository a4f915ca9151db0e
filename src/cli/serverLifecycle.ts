// What the long-running servers (`emulate`, `gateway`) share about starting and stopping:
// a bind address checked before anything listens, one stop path for SIGINT, SIGTERM and SIGHUP
// (a closed terminal must not lose a recording or a log), and no server left running once its
// launcher is gone (docs/emulate.md, "Stopping").
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { InputError } from '../errors.ts';

/** Seconds a draining server gives open streams before it ends them (docs/gateway.md, docs/emulate.md). */
export const SHUTDOWN_GRACE_S = 5;

/** How often a server checks that its launcher is still there, ms. */
const PARENT_POLL_MS = 1000;

/**
 * Check a bind address: an IP literal must be valid, a name must resolve. One-line InputError
 * (`host: ...`) otherwise, before any port is opened.
 */
export async function checkHost(host: string, field = 'host'): Promise<void> {
  if (host.trim() === '') throw new InputError(field, host, 'is empty; give an address such as 127.0.0.1');
  if (isIP(host)) return;
  if (/^[\d.]+$/.test(host)) throw new InputError(field, host, 'is not a valid IPv4 address');
  try {
    await lookup(host);
  } catch (e) {
    throw new InputError(field, host, `cannot resolve this address (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Map a listen() failure to a one-line error naming the flag it comes from. */
export function listenError(e: unknown, host: string, port: string | number): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES') return new InputError('port', String(port), `cannot listen on ${host}: ${code}`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EINVAL') {
    return new InputError('host', host, `cannot listen on this address (${code}: not an address of this machine?)`);
  }
  return e;
}

/**
 * Whether the launcher (the parent at start) is still this process's parent. `process.ppid` is
 * read once at start-up, so Linux's /proc tells the current parent; elsewhere, whether the
 * process still exists.
 */
function parentAlive(ppid: number): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses; split after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid;
  } catch {
    try {
      process.kill(ppid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'parent_exit';

/**
 * Call `stop` once, on the first of SIGINT, SIGTERM, SIGHUP, or the launcher going away (this
 * process re-parented: `npx` or a shell killed without forwarding the signal). A second SIGINT
 * or SIGTERM while stopping exits at once. Returns a function that removes the handlers.
 */
export function onStop(stop: (why: StopReason) => void): () => void {
  let stopping = false;
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const handlers = signals.map((sig) => {
    const h = () => {
      if (stopping) {
        if (sig !== 'SIGHUP') process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
        return;
      }
      stopping = true;
      stop(sig);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  const ppid = process.ppid;
  const timer =
    ppid > 1
      ? setInterval(() => {
          if (!stopping && !parentAlive(ppid)) {
            stopping = true;
            stop('parent_exit');
          }
        }, PARENT_POLL_MS)
      : undefined;
  timer?.unref();
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
    if (timer) clearInterval(timer);
  };
}
