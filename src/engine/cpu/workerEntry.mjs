// Worker threads start as plain Node: when the engine runs from its TypeScript sources (tests,
// tsx), register tsx before loading the TypeScript worker. The compiled package uses worker.js.
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');
