/**
 * verifyBundleV2 with a prefetcher answering SGX quotes ahead: an accepted verdict carries no report, and
 * the enclave's report body is then read from the quote itself (bytes 48..432); the remote verifier is
 * not asked again. Synthetic chains (test/helpers/synthetic-chain.ts) whose quotes carry the real body.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../../src/bytes/util.ts';
import { verifyBundleV2 } from '../../../src/chain/verify-bundle-v2.ts';
import type { Link } from '../../../src/chain/types.ts';
import type { RemoteEvidenceResult } from '../../../src/chain/remote-verifier.ts';
import { SynthChain } from '../../helpers/synthetic-chain.ts';

/** Answers every quote ahead with the synthetic verifier's result, its report removed. */
function prefetcher(s: SynthChain) {
  return {
    start: (batch: Array<{ link: Link; quote?: Uint8Array }>) =>
      batch.map(({ quote }) => {
        if (!quote) return {};
        const { report: _r, ...rest } = s.results.get(hex(quote)) as RemoteEvidenceResult & { report: unknown };
        return { remote: Promise.resolve(rest as RemoteEvidenceResult) };
      }),
  };
}

test('v2 with a prefetcher: an SGX quote accepted ahead is appraised with the report body the quote carries', async () => {
  const s = new SynthChain();
  s.remoteSgx('e1', null, 'a1', { realBody: true });
  s.localSgx('e2', 'e1');
  s.remoteSgx('e3', 'e2', 'a2', { realBody: true });
  s.verified = 0;
  const r = await verifyBundleV2([s.v2()], { ...s.opts(), prefetch: prefetcher(s) });
  assert.deepEqual(r.failures, []);
  assert.equal(r.valid, true);
  assert.deepEqual(r.links, { local: 1, remote: 2 });
  assert.equal(s.verified, 0, 'no quote went to the remote verifier again');
});

test('v2 with a prefetcher: a quote whose body is not the enclave report fails key-binding (the body read is the quote’s)', async () => {
  const s = new SynthChain();
  s.remoteSgx('e1', null, 'a1', { realBody: true });
  s.remoteSgx('e2', 'e1', 'a2');
  s.verified = 0;
  const r = await verifyBundleV2([s.v2()], { ...s.opts(), prefetch: prefetcher(s) });
  assert.deepEqual(
    r.failures.map((f) => `${f.link}:${f.check}`),
    ['e2:key-binding'],
  );
  assert.equal(s.verified, 0);
});
