// The thinnest proxy there is, for the gateway benchmark's latency floor: a TCP relay that pipes
// bytes both ways without parsing them. Its added TTFT is what one extra loopback hop costs on
// the machine; the gateway's added TTFT above it is the gateway's own work.
// Usage: tsx benches/tcpRelay.ts TARGET_PORT   (prints {"port": N})
import { connect, createServer, type AddressInfo } from 'node:net';

const target = Number(process.argv[2]);
const server = createServer({ noDelay: true }, (client) => {
  const upstream = connect(target, '127.0.0.1');
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
