import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { hex } from '../../../src/bytes/util.ts';
import { ATTR } from '../../../src/formats/attributes.ts';
import { emptyReportBody, type ReportBody } from '../../../src/formats/report.ts';
import { checkElementPolicy, policyAtDepth } from '../../../src/chain/policy.ts';
import { elementReportData } from '../../../src/chain/signing.ts';
import type { ChainPolicy } from '../../../src/chain/types.ts';
import { createDcapRemoteVerifier } from '../../../src/cot/dcap-remote-verifier.ts';
import { skipWithoutVectors, vector, vectorText } from '../../helpers/vectors.ts';

function body(o: Partial<ReportBody> = {}): ReportBody {
  return {
    ...emptyReportBody(),
    mrEnclave: new Uint8Array(32).fill(0xe1),
    mrSigner: new Uint8Array(32).fill(0x51),
    isvProdId: 1,
    isvSvn: 2,
    attributes: { flags: ATTR.INIT | ATTR.MODE64BIT, xfrm: 3n },
    ...o,
  };
}

test('policyAtDepth: a depth override replaces only the fields it names, only at that depth', () => {
  const p: ChainPolicy = {
    allowDebug: false,
    evidenceMaxAgeSeconds: 3600,
    linkTypes: ['local', 'remote'],
    byDepth: { '2': { evidenceMaxAgeSeconds: 60, linkTypes: ['local'] } },
  };
  assert.deepEqual(policyAtDepth(p, 1), {
    allowDebug: false,
    evidenceMaxAgeSeconds: 3600,
    linkTypes: ['local', 'remote'],
  });
  assert.deepEqual(policyAtDepth(p, 2), { allowDebug: false, evidenceMaxAgeSeconds: 60, linkTypes: ['local'] });
  assert.deepEqual(policyAtDepth(p, 3), policyAtDepth(p, 1));
  assert.equal(p.byDepth!['2'].evidenceMaxAgeSeconds, 60, 'the policy itself is not modified');
});

test('checkElementPolicy: each rule refuses with its own check, and nothing else refuses', () => {
  const ok = (
    p: ChainPolicy,
    depth = 1,
    type: 'local' | 'remote' = 'local',
    b = body(),
    tcb?: { status: string; advisoryIds: string[] },
  ) => checkElementPolicy(p, depth, type, b, tcb);
  assert.deepEqual(ok({}), { ok: true });
  assert.equal((ok({ maxDepth: 2 }, 3) as { check: string }).check, 'policy-depth');
  assert.deepEqual(ok({ maxDepth: 2 }, 2), { ok: true });
  assert.equal((ok({ linkTypes: ['remote'] }) as { check: string }).check, 'policy-link-type');
  const debugBody = body({ attributes: { flags: ATTR.INIT | ATTR.DEBUG | ATTR.MODE64BIT, xfrm: 3n } });
  assert.equal((ok({}, 1, 'local', debugBody) as { check: string }).check, 'policy-debug', 'DEBUG refused by default');
  assert.deepEqual(ok({ allowDebug: true }, 1, 'local', debugBody), { ok: true });
  assert.deepEqual(ok({ byDepth: { '1': { allowDebug: true } } }, 1, 'local', debugBody), { ok: true });
  assert.equal(
    (ok({ byDepth: { '1': { allowDebug: true } } }, 2, 'local', debugBody) as { check: string }).check,
    'policy-debug',
  );
  const signer = hex(new Uint8Array(32).fill(0x51));
  assert.deepEqual(ok({ identities: [{ mrSigner: signer, isvProdId: 1, minIsvSvn: 2 }] }), { ok: true });
  assert.equal(
    (ok({ identities: [{ mrSigner: signer, isvProdId: 1, minIsvSvn: 3 }] }) as { check: string }).check,
    'policy-identity',
  );
  assert.equal(
    (ok({ identities: [{ mrSigner: signer, isvProdId: 2 }] }) as { check: string }).check,
    'policy-identity',
  );
  assert.equal(
    (ok({ identities: [{ mrEnclave: [hex(new Uint8Array(32))] }] }) as { check: string }).check,
    'policy-identity',
  );
  assert.deepEqual(
    ok({ identities: [{ mrEnclave: [hex(new Uint8Array(32))] }, { mrEnclave: [hex(new Uint8Array(32).fill(0xe1))] }] }),
    { ok: true },
    'any listed identity',
  );
  // TCB applies to remote evidence only.
  const swh = { status: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'] };
  assert.equal((ok({}, 1, 'remote', body(), swh) as { check: string }).check, 'policy-tcb-status');
  assert.deepEqual(ok({ acceptedTcbStatuses: ['SWHardeningNeeded'] }, 1, 'remote', body(), swh), { ok: true });
  assert.equal(
    (
      ok({ acceptedTcbStatuses: ['SWHardeningNeeded'], acceptedAdvisories: [] }, 1, 'remote', body(), swh) as {
        check: string;
      }
    ).check,
    'policy-advisories',
  );
  assert.deepEqual(
    ok(
      { acceptedTcbStatuses: ['SWHardeningNeeded'], acceptedAdvisories: ['INTEL-SA-00615'] },
      1,
      'remote',
      body(),
      swh,
    ),
    { ok: true },
  );
});

test('elementReportData is SHA-256("catena/element-binding/v1" ‖ chain id ‖ 0x00 ‖ key ‖ nonce) ‖ 0^32 (independent computation)', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 64 }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (chainId, key, nonce) => {
        const expected = createHash('sha256')
          .update('catena/element-binding/v1')
          .update(Buffer.from(chainId, 'utf8'))
          .update(Buffer.from([0]))
          .update(key)
          .update(nonce)
          .digest();
        const rd = elementReportData(chainId, key, nonce);
        assert.equal(rd.length, 64);
        assert.equal(hex(rd.subarray(0, 32)), expected.toString('hex'));
        assert.equal(hex(rd.subarray(32)), '00'.repeat(32));
      },
    ),
    { numRuns: 100 },
  );
  // The chain id is delimited: ("ab", key) and ("a", "b"‖key…) cannot collide through concatenation.
  const key = new Uint8Array(64).fill(7);
  assert.notEqual(
    hex(elementReportData('ab', key, new Uint8Array(32))),
    hex(elementReportData('a', key, new Uint8Array(32))),
  );
});

test(
  "a real Intel quote (phala vector) through the chain's remote verifier pinned to Intel's root; the chain policy judges its TCB",
  { skip: skipWithoutVectors },
  async () => {
    const intelRoot = vector('intel_sgx_root_ca.der');
    const quote = vector('sgx-v3-phala/quote.dat');
    const collateral = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
    const remote = createDcapRemoteVerifier(intelRoot);
    const r = await remote.verify(quote, collateral, new Date('2025-07-01T00:00:00Z'));
    assert.equal(r.ok, true, r.ok ? '' : `${r.check}: ${r.message}`);
    if (!r.ok || r.tee === 'tdx') return;
    // Expected results from the vectors' README (asserted upstream by PHALA's tests).
    assert.equal(r.tcbStatus, 'ConfigurationAndSWHardeningNeeded');
    assert.deepEqual([...r.advisoryIds].sort(), ['INTEL-SA-00289', 'INTEL-SA-00615']);
    assert.equal(r.fmspc.toLowerCase(), '00a067110000');
    assert.equal(hex(r.report.mrEnclave), '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb');
    assert.equal(hex(r.report.mrSigner), '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6');
    const tcb = { status: r.tcbStatus, advisoryIds: r.advisoryIds };
    assert.equal((checkElementPolicy({}, 1, 'remote', r.report, tcb) as { check: string }).check, 'policy-tcb-status');
    const accepting: ChainPolicy = {
      acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'],
      identities: [{ mrEnclave: ['33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb'] }],
    };
    assert.deepEqual(checkElementPolicy(accepting, 1, 'remote', r.report, tcb), { ok: true });
    assert.equal(
      (
        checkElementPolicy({ ...accepting, acceptedAdvisories: ['INTEL-SA-00289'] }, 1, 'remote', r.report, tcb) as {
          check: string;
        }
      ).check,
      'policy-advisories',
    );
    assert.equal(
      (
        checkElementPolicy(
          {
            ...accepting,
            identities: [
              {
                mrSigner: '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6',
                isvProdId: r.report.isvProdId + 1,
              },
            ],
          },
          1,
          'remote',
          r.report,
          tcb,
        ) as { check: string }
      ).check,
      'policy-identity',
    );
    // The same verifier refuses it after its collateral expired; one pinned to another key refuses it (and does not throw).
    const late = await remote.verify(quote, collateral, new Date('2025-08-01T00:00:00Z'));
    assert.equal(late.ok, false);
    const wrong = await createDcapRemoteVerifier(new Uint8Array(65).fill(4)).verify(
      quote,
      collateral,
      new Date('2025-07-01T00:00:00Z'),
    );
    assert.equal(wrong.ok, false);
  },
);
