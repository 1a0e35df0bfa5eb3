// Entry point of an isolated enclave's worker thread. Plain JavaScript so it needs no loader:
// it registers tsx (for Catena's TypeScript sources) in this thread, then starts the worker main.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
