/**
 * Example: what a third party runs. Given only a proof bundle, the root certificate it trusts and a
 * time, verify the whole chain offline (no enclave, no network, no state shared with the builder).
 *
 *   node --import tsx examples/verify-offline.ts BUNDLE.json ROOT.der [TIME]
 *
 * Prints one JSON result; exit status 1 when the chain is not valid. Documented in docs/cot-api.md.
 */
import { readFile } from 'node:fs/promises';
import { createDcapRemoteVerifier, verifyBundle } from 'catena/cot';

const [bundlePath, rootPath, time] = process.argv.slice(2);
if (!bundlePath || !rootPath) {
  console.error('usage: verify-offline.ts BUNDLE.json ROOT.der [TIME]');
  process.exit(2);
}
const bundle: unknown = JSON.parse(await readFile(bundlePath, 'utf8'));
const root = new Uint8Array(await readFile(rootPath));
const at = time ? new Date(time) : new Date();

// The DCAP verifier trusting exactly this root; verifyBundle never throws on a bad bundle.
const v = await verifyBundle(bundle, { root, at, remote: createDcapRemoteVerifier(root) });

console.log(
  JSON.stringify({
    valid: v.valid,
    size: v.size,
    links: v.links,
    emulatedRoot: v.emulatedRoot,
    firstFailure: v.failures[0] ?? null,
    at: at.toISOString(),
  }),
);
process.exitCode = v.valid ? 0 : 1;
