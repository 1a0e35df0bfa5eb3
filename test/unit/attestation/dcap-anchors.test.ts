import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { collateralFromQvlJson } from '../../../src/attestation/collateral/from-qvl-json.ts';
import { DcapVerifier } from '../../../src/attestation/dcap/verify-quote.ts';
import { INTEL_ROOT_PUBLIC_KEY_HEX } from '../../../src/attestation/dcap/intel-root.ts';
import {
  bitString,
  oid,
  seq,
  set,
  context,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from '../../../src/formats/der-writer.ts';
import { skipWithoutVectors, vector, vectorText } from '../../helpers/vectors.ts';

/**
 * Trust anchors and arguments of DcapVerifier.verify, on Intel's real quote: the pinned Intel key given
 * as 64 or 65 raw bytes or as the root certificate (rootIsIntel), and each malformed argument refused
 * with ERR_ARGUMENT before any check runs.
 */
const AT = new Date('2025-07-01T00:00:00Z');
const policy = { acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] };

test(
  "trusted roots: Intel's key raw (64 or 65 bytes) or as its certificate; the default is Intel",
  { skip: skipWithoutVectors },
  async () => {
    const json = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
    const quote = vector('sgx-v3-phala/quote.dat');
    const raw = new Uint8Array(Buffer.from(INTEL_ROOT_PUBLIC_KEY_HEX, 'hex'));
    const verify = (trustedRoots?: Uint8Array[]) =>
      new DcapVerifier().verify(quote, {
        collateral: collateralFromQvlJson(json),
        at: AT,
        policy,
        ...(trustedRoots ? { trustedRoots } : {}),
      });
    for (const [what, roots] of [
      ['default', undefined],
      ['64 bytes', [raw]],
      ['65 bytes', [Uint8Array.of(4, ...raw)]],
      ['certificate', [vector('intel_sgx_root_ca.der')]],
    ] as const) {
      const a = await verify(roots as Uint8Array[] | undefined);
      assert.equal(a.verdict, 'accepted', what);
      assert.equal(a.rootIsIntel, true, what);
    }
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ format: 'der', type: 'spki' })
      .subarray(-64);
    const a = await verify([new Uint8Array(other), raw]);
    assert.equal(a.verdict, 'accepted', 'the matching one of several');
    const none = await verify([new Uint8Array(other)]);
    assert.equal(none.error?.check, 'pck.chain');
    assert.equal(none.rootIsIntel, false);
  },
);

test('malformed arguments: ERR_ARGUMENT naming the argument', { skip: skipWithoutVectors }, async () => {
  const json = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
  const quote = vector('sgx-v3-phala/quote.dat');
  const collateral = collateralFromQvlJson(json);
  const v = new DcapVerifier();
  const raw = new Uint8Array(Buffer.from(INTEL_ROOT_PUBLIC_KEY_HEX, 'hex'));
  const ed = generateKeyPairSync('ed25519');
  const n = seq(set(seq(oid('2.5.4.3'), utf8String('Ed'))));
  const tbs = seq(
    context(0, true, smallInteger(2)),
    unsignedInteger(Uint8Array.of(1)),
    seq(oid('1.3.101.112')),
    n,
    seq(time(new Date('2020-01-01T00:00:00Z')), time(new Date('2040-01-01T00:00:00Z'))),
    n,
    new Uint8Array(ed.publicKey.export({ type: 'spki', format: 'der' })),
  );
  const edCert = seq(tbs, seq(oid('1.3.101.112')), bitString(new Uint8Array(sign(null, tbs, ed.privateKey))));
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    [
      'quote',
      () => v.verify(Array.from(quote) as unknown as Uint8Array, { collateral, at: AT }),
      /^quote: expected Uint8Array$/,
    ],
    [
      'no at',
      () => v.verify(quote, { collateral } as unknown as { collateral: typeof collateral; at: Date }),
      /^VerifyOptions\.at: /,
    ],
    ['invalid at', () => v.verify(quote, { collateral, at: new Date(NaN) }), /^VerifyOptions\.at: /],
    ['at as text', () => v.verify(quote, { collateral, at: '2025-07-01' as unknown as Date }), /^VerifyOptions\.at: /],
    [
      'no options',
      () => v.verify(quote, undefined as unknown as { collateral: typeof collateral; at: Date }),
      /^VerifyOptions\.at: /,
    ],
    [
      'no collateral',
      () => v.verify(quote, { at: AT } as unknown as { collateral: typeof collateral; at: Date }),
      /^VerifyOptions\.collateral is required$/,
    ],
    [
      'root not bytes',
      () => v.verify(quote, { collateral, at: AT, trustedRoots: ['x' as unknown as Uint8Array] }),
      /^trustedRoots\[0\]: expected Uint8Array$/,
    ],
    [
      '65 bytes without 04',
      () => v.verify(quote, { collateral, at: AT, trustedRoots: [raw, Uint8Array.of(5, ...raw)] }),
      /^trustedRoots\[1\]: neither a raw P-256 key nor a DER certificate/,
    ],
    [
      '63 bytes',
      () => v.verify(quote, { collateral, at: AT, trustedRoots: [raw.subarray(1)] }),
      /^trustedRoots\[0\]: neither a raw P-256 key nor a DER certificate/,
    ],
    [
      'an Ed25519 root',
      () => v.verify(quote, { collateral, at: AT, trustedRoots: [edCert] }),
      /^trustedRoots\[0\]: not a P-256 key$/,
    ],
  ];
  for (const [what, call, message] of cases) await assert.rejects(call, { code: 'ERR_ARGUMENT', message }, what);
});

test(
  'validity under a collateral-age policy ends when the oldest collateral becomes too old',
  { skip: skipWithoutVectors },
  async () => {
    const json = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
    const quote = vector('sgx-v3-phala/quote.dat');
    const issued = [json.tcb_info, json.qe_identity].map((t) =>
      Date.parse((JSON.parse(t) as { issueDate: string }).issueDate),
    );
    const oldest = Math.min(...issued);
    // An age limit that runs out one hour after AT, well before any nextUpdate of this collateral.
    const maxCollateralAgeSeconds = (AT.getTime() - oldest) / 1000 + 3600;
    const verify = (p: object) =>
      new DcapVerifier().verify(quote, {
        collateral: collateralFromQvlJson(json),
        at: AT,
        policy: { ...policy, ...p },
      });
    const a = await verify({ maxCollateralAgeSeconds });
    assert.equal(a.verdict, 'accepted');
    // The age check floors to whole seconds: it holds until the millisecond before the next second.
    assert.equal(a.validity?.until, new Date(AT.getTime() + 3600_000 + 999).toISOString());
    const plain = await verify({});
    assert.ok(
      plain.validity && Date.parse(plain.validity.until) > AT.getTime() + 3600_000,
      'without the policy: a later end',
    );
    assert.equal(a.validity?.from, plain.validity?.from);
    assert.ok(Date.parse(plain.validity.from) <= AT.getTime());
  },
);
