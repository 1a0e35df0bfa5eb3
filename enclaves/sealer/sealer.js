// Example enclave: seals data to itself (MRENCLAVE policy) or to its vendor (MRSIGNER policy).
// It also exposes EGETKEY so tests and tools can probe the CPU's key-request checks from inside an enclave.
export default function sealer(ctx) {
  return {
    seal(plaintext, policy = 'mrenclave', aad) {
      return ctx.seal(plaintext, policy, aad);
    },
    unseal(blob, aad) {
      return ctx.unseal(blob, aad);
    },
    egetkey(keyRequest) {
      return ctx.egetkey(keyRequest);
    },
    selfTargetInfo() {
      return ctx.selfTargetInfo();
    },
    report(targetInfo, reportData) {
      return ctx.ereport(targetInfo, reportData);
    },
  };
}
