// The element enclave: what every enclave in a chain of trust runs (as its own module, or spread
// into an application enclave's ECALLs). Its element key is created here and never leaves; it
// presents evidence binding that key to a parent's challenge, and, as a parent, checks a child's
// evidence and signs the link. The logic lives in catena/cot/element-core (elementEcalls).
import { elementEcalls } from 'catena/cot/element-core';

export default function element(ctx) {
  return elementEcalls(ctx);
}
