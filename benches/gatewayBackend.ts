// A fake vLLM server in its own process for the gateway benchmark (so backend, gateway and load
// generator do not share one event loop). Prints {"port": N} and serves until killed.
// Usage: tsx benches/gatewayBackend.ts ENGINES TOKEN_DELAY_MS
import { FakeVllm } from '../test/serve/fakeVllm.ts';

const engines = Number(process.argv[2] ?? 1);
const delay = Number(process.argv[3] ?? 0);
const f = await new FakeVllm({ engines: Array.from({ length: engines }, (_, i) => i), tokenDelayMs: delay }).start();
process.stdout.write(`${JSON.stringify({ port: f.port })}\n`);
process.on('SIGTERM', () => void f.stop().then(() => process.exit(0)));
