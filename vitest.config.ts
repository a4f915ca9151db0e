import { defineConfig } from 'vitest/config';

// Many tests start the CLI, a server or the GPU engine (SwiftShader) in another process; on a
// busy 2-core machine one such start can take several seconds, so the per-test default of 5 s
// would fail on load rather than on behaviour. Performance is measured in benches/, never here.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
