// Worker threads start as plain Node: register tsx before loading the TypeScript worker.
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');
