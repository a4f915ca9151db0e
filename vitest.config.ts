import { defineConfig } from 'vitest/config';

// Tests that run in real time against servers on loopback ports (the emulator, the gateway, the
// load generator): their own project, `npm run test:live`; `npm test` (and CI) runs both.
const LIVE = ['test/serve/**/*.test.ts', 'test/loadgen/{closedLoop,gatewayLoop,interrupt,loadgen}.test.ts', 'test/calibrate/fromRunEmulate.test.ts'];

// Many tests start the CLI, a server or the GPU engine (SwiftShader) in another process; on a
// busy 2-core machine one such start can take several seconds, so the per-test default of 5 s
// would fail on load rather than on behaviour. Performance is measured in benches/, never here.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: LIVE } },
      { extends: true, test: { name: 'live', include: LIVE } },
    ],
  },
});
