// The element enclave: what every enclave in a chain of trust runs (as its own module or beside its
// application code). Its element key is created here and never leaves; it presents evidence binding
// that key to a parent's challenge, and, as a parent, checks a child's evidence and signs the link.
import { admitLocal, admitRemote, createElementKey, elementEvidenceData } from 'catena/cot/element-core';

export default function element(ctx, opts) {
  let key;
  return {
    /** Creates the element key inside the enclave; returns its public half (64-byte X‖Y). */
    createKey() {
      key = createElementKey();
      return key.publicRaw;
    },
    /** A REPORT for `targetInfo` (the parent, or the QE) whose REPORTDATA binds the key, chain and nonce. */
    evidence(targetInfo, chainId, nonce) {
      return ctx.ereport(targetInfo, elementEvidenceData(chainId, key.publicRaw, nonce));
    },
    /** As parent: checks a local child's REPORT (MAC under our REPORT key) and signs the link. */
    admitLocal(draft, childReport, policy, depth) {
      return admitLocal(ctx, key, draft, childReport, policy, depth);
    },
    /** As parent: checks a remote child's quote with the DCAP verifier and signs the link. */
    admitRemote(draft, quote, collateral, at, root, policy, depth) {
      return admitRemote(key, draft, quote, collateral, at, root, policy, depth);
    },
  };
}
