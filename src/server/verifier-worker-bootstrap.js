// Entry point of a remote-evidence verifier worker thread. Plain JavaScript so it needs no loader:
// it registers tsx (for Catena's TypeScript sources) in this thread, then starts the worker main.
import { register } from 'tsx/esm/api';

register();
await import('./verifier-worker.ts');
