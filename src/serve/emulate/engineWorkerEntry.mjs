// Worker threads start as plain Node: from the TypeScript sources (tests, tsx), register tsx
// before loading the TypeScript worker. The compiled package starts engineWorker.js directly.
import { register } from 'tsx/esm/api';
register();
await import('./engineWorker.ts');
