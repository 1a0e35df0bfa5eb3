// Example enclave: greets, reports where it runs, and calls back into the host.
// An enclave module's default export is a factory: it receives the EnclaveContext and returns the ECALL table.
import { isMainThread, threadId } from 'node:worker_threads';

export default function hello(ctx) {
  let greetings = 0; // per-enclave state lives in this closure
  return {
    hello(name) {
      greetings += 1;
      return `hello ${name}, from enclave ${Buffer.from(ctx.identity.mrEnclave).toString('hex').slice(0, 16)}… (greeting ${greetings})`;
    },
    whereAmI() {
      return { isMainThread, threadId, runtime: ctx.runtime };
    },
    identity() {
      return ctx.identity;
    },
    async askHost(question) {
      return ctx.ocall('answer', question);
    },
  };
}
