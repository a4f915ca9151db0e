// A loopback SSE server for benches/loadgen-accuracy.ts, in its own process (as a real server
// would be): 16 output tokens per request, 2 ms apart. Prints its URL, serves until killed.
import { startFakeServer } from '../test/loadgen/fakeServer.ts';

const s = await startFakeServer({ ttftMs: 5, itlMs: 2 });
process.stdout.write(s.url + '\n');
process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
