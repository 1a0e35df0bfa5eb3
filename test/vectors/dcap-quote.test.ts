import { toPem } from '../../src/attestation/pem.ts';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { test } from 'node:test';
import { QuoteVerifier as QvlVerifier, verify as qvlVerify } from '@phala/dcap-qvl';
import {
  collateralFromQvlJson,
  DcapVerifier,
  directoryCollateral,
  memoryCollateral,
  openCollateral,
  VerificationCache,
  verifyQuote,
  type Appraisal,
  type Collateral,
} from '../../src/attestation/index.ts';
import { FormatError } from '../../src/errors.ts';
import { children, parseDer, parseQuote, serializeQuote } from '../../src/formats/index.ts';
import { skipWithoutVectors, vector, vectorPath, vectorText } from '../helpers/vectors.ts';
import { freshKeyPair } from '../helpers/keys.ts';

/**
 * The DCAP verifier on Intel's real quotes and collateral (../shared/vectors, README there), at their
 * documented times: statuses and advisories, expiry, fail-closed CRLs, chain order, exhaustive bit flips,
 * and agreement with @phala/dcap-qvl.
 */
const PHALA_AT = new Date('2025-07-01T00:00:00Z');
const ZK_AT = new Date(1737458686 * 1000);
const PHALA_STATUS = 'ConfigurationAndSWHardeningNeeded';
const accept = (...s: string[]) => ({ acceptedTcbStatuses: s });

function phala(): { quote: Uint8Array; collateral: Collateral; json: Record<string, string> } {
  const json = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
  return { quote: vector('sgx-v3-phala/quote.dat'), collateral: collateralFromQvlJson(json), json };
}

function failed(a: Appraisal): string[] {
  return a.checks.filter((c) => !c.ok).map((c) => c.name);
}

test(
  'sgx-v3-phala at 2025-07-01: ConfigurationAndSWHardeningNeeded [INTEL-SA-00289, INTEL-SA-00615]; rejected by default, accepted with that status',
  { skip: skipWithoutVectors },
  async () => {
    const { quote, collateral } = phala();
    const def = await verifyQuote(quote, { collateral, at: PHALA_AT });
    assert.equal(def.verdict, 'rejected');
    assert.equal(def.tcbStatus, PHALA_STATUS);
    assert.deepEqual([...def.advisoryIds].sort(), ['INTEL-SA-00289', 'INTEL-SA-00615']);
    assert.deepEqual(failed(def), ['policy.tcbStatus']);
    assert.equal(def.error?.code, 'ERR_TCB_STATUS_NOT_ACCEPTED');
    assert.equal(def.rootIsIntel, true);

    const ok = await verifyQuote(quote, { collateral, at: PHALA_AT, policy: accept(PHALA_STATUS) });
    assert.equal(ok.verdict, 'accepted', JSON.stringify(ok.error));
    assert.equal(ok.quote?.mrEnclave, '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb');
    assert.equal(ok.quote?.mrSigner, '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6');
    assert.equal(Buffer.from(ok.quote.reportData, 'hex').subarray(0, 13).toString(), 'Hello, world!');
    assert.equal(ok.platform?.fmspc, '00a067110000');
    assert.deepEqual(ok.platform?.tcbComponents.slice(0, 6), [11, 11, 2, 2, 255, 1]);
    assert.equal(ok.qe?.tcbStatus, 'UpToDate');
  },
);

test(
  'sgx-v3-phala after its collateral expired (2025-08-01): rejected, the expired windows named',
  { skip: skipWithoutVectors },
  async () => {
    const { quote, collateral } = phala();
    const a = await verifyQuote(quote, {
      collateral,
      at: new Date('2025-08-01T00:00:00Z'),
      policy: accept(PHALA_STATUS),
    });
    assert.equal(a.verdict, 'rejected');
    assert.equal(a.error?.code, 'ERR_PCK_CRL', 'the first expired piece in check order');
    const f = failed(a);
    for (const name of ['crl.pck', 'collateral.tcbInfoWindow', 'collateral.qeIdentityWindow'])
      assert.ok(f.includes(name), `${name} should fail: ${f.join(', ')}`);
    // The status is still reported: it could be computed.
    assert.equal(a.tcbStatus, PHALA_STATUS);
    // One second inside the window (the upstream test time) it holds.
    const inside = await verifyQuote(quote, {
      collateral,
      at: new Date(1752919277 * 1000),
      policy: accept(PHALA_STATUS),
    });
    assert.equal(inside.verdict, 'accepted', JSON.stringify(inside.error));
    // And before the TCB info was issued it does not.
    const before = await verifyQuote(quote, {
      collateral,
      at: new Date('2025-06-01T00:00:00Z'),
      policy: accept(PHALA_STATUS),
    });
    assert.ok(failed(before).includes('collateral.tcbInfoWindow'));
  },
);

test(
  'sgx-v3-zkdcap (collateral directory) at 1737458686: SWHardeningNeeded [INTEL-SA-00334, INTEL-SA-00615]',
  { skip: skipWithoutVectors },
  async () => {
    const a = await verifyQuote(vector('sgx-v3-zkdcap/quote.dat'), {
      collateral: directoryCollateral(vectorPath('sgx-v3-zkdcap')),
      at: ZK_AT,
      policy: accept('SWHardeningNeeded'),
    });
    assert.equal(a.verdict, 'accepted', JSON.stringify(a.error));
    assert.equal(a.tcbStatus, 'SWHardeningNeeded');
    assert.deepEqual([...a.advisoryIds].sort(), ['INTEL-SA-00334', 'INTEL-SA-00615']);
    assert.equal(a.quote?.mrEnclave, 'dca1a1841ab2e3fa7025c1d175d2c947df760b3baa4a9a0f30f4fd05718fcfe3');
    // The window's documented bounds: just outside each end, rejected.
    for (const t of [1737456351 - 3600, 1740048100 + 1]) {
      const out = await verifyQuote(vector('sgx-v3-zkdcap/quote.dat'), {
        collateral: directoryCollateral(vectorPath('sgx-v3-zkdcap')),
        at: new Date(t * 1000),
        policy: accept('SWHardeningNeeded'),
      });
      assert.equal(out.verdict, 'rejected', `at ${t}`);
    }
  },
);

test(
  'tdx-v4-phala at 1751328000: the v4 TDX quote verifies to UpToDate, no advisories',
  { skip: skipWithoutVectors },
  async () => {
    const a = await verifyQuote(vector('tdx-v4-phala/quote.dat'), {
      collateral: await openCollateral(vectorPath('tdx-v4-phala/collateral.json')),
      at: new Date(1751328000 * 1000),
    });
    assert.equal(a.verdict, 'accepted', JSON.stringify(a.error));
    assert.equal(a.tcbStatus, 'UpToDate');
    assert.deepEqual(a.advisoryIds, []);
    assert.equal(a.quote?.teeType, 'tdx');
    assert.equal(a.platform?.pckCa, 'platform');
    assert.ok(a.checks.some((c) => c.name === 'tdx.module' && c.ok && /TDX_01 at ISVSVN 6/.test(c.detail!)));
  },
);

test(
  'a garbage PCK CRL is rejected (fail closed) — while @phala/dcap-qvl accepts it',
  { skip: skipWithoutVectors },
  async () => {
    const { quote, json } = phala();
    const bad = { ...json, pck_crl: '30' + '00'.repeat(40) };
    const a = await verifyQuote(quote, {
      collateral: collateralFromQvlJson(bad),
      at: PHALA_AT,
      policy: accept(PHALA_STATUS),
    });
    assert.equal(a.verdict, 'rejected');
    assert.equal(a.error?.check, 'crl.pck');
    assert.equal(a.error?.code, 'ERR_PCK_CRL');
    const qvl = qvlVerify(quote, bad as never, PHALA_AT.getTime() / 1000);
    assert.equal(qvl.status, PHALA_STATUS, 'dcap-qvl ignores an unparseable CRL');
    // Same for the root CA CRL.
    const badRoot = await verifyQuote(quote, {
      collateral: collateralFromQvlJson({ ...json, root_ca_crl: 'deadbeef' }),
      at: PHALA_AT,
      policy: accept(PHALA_STATUS),
    });
    assert.equal(badRoot.error?.check, 'crl.rootCa');
  },
);

/** DER length + TLV, for re-assembling a CRL in the test. */
function tlv(tag: number, value: Uint8Array): Uint8Array {
  const n = value.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([tag, ...len, ...value]);
}

test(
  'a CRL with the right issuer name but signed by another key is rejected; re-signed by the right key it would pass',
  { skip: skipWithoutVectors },
  async () => {
    const { quote, json } = phala();
    const crl = parseDer(new Uint8Array(Buffer.from(json.pck_crl, 'hex')));
    const [tbs, alg] = children(crl);
    const other = freshKeyPair('ec', { namedCurve: 'P-256' });
    const sig = new Uint8Array(sign('sha256', tbs.raw, other.privateKey));
    const forged = tlv(0x30, Uint8Array.from([...tbs.raw, ...alg.raw, ...tlv(0x03, Uint8Array.from([0, ...sig]))]));
    const a = await verifyQuote(quote, {
      collateral: collateralFromQvlJson({ ...json, pck_crl: Buffer.from(forged).toString('hex') }),
      at: PHALA_AT,
      policy: accept(PHALA_STATUS),
    });
    assert.equal(a.verdict, 'rejected');
    assert.equal(a.error?.check, 'crl.pck');
    assert.match(a.error.message, /signature does not verify/);
    assert.equal(a.error?.code, 'ERR_PCK_CRL');
    // The same root CA CRL moved into the PCK CRL slot: valid signature, wrong issuer.
    const swapped = await verifyQuote(quote, {
      collateral: collateralFromQvlJson({ ...json, pck_crl: json.root_ca_crl }),
      at: PHALA_AT,
      policy: accept(PHALA_STATUS),
    });
    assert.equal(swapped.error?.check, 'crl.pck');
    assert.match(swapped.error.message, /issued by someone other/);
  },
);

function withCertData(quote: Uint8Array, pem: string): Uint8Array {
  const q = parseQuote(quote);
  q.signatureData.qe.certification = { type: 5, data: new TextEncoder().encode(pem) };
  return serializeQuote(q);
}

test('the PCK chain in any order is accepted; an incomplete chain is not', { skip: skipWithoutVectors }, async () => {
  const { quote, collateral } = phala();
  const pem = Buffer.from(parseQuote(quote).signatureData.qe.certification.data).toString('latin1').replace(/\0$/, '');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----\n[^-]+-----END CERTIFICATE-----\n/g)!;
  assert.equal(blocks.length, 3);
  const v = new DcapVerifier();
  for (const order of [
    [2, 0, 1],
    [1, 2, 0],
    [2, 1, 0],
    [0, 2, 1],
  ]) {
    const a = await v.verify(withCertData(quote, order.map((i) => blocks[i]).join('')), {
      collateral,
      at: PHALA_AT,
      policy: accept(PHALA_STATUS),
    });
    assert.equal(a.verdict, 'accepted', `order ${order.join(',')}: ${JSON.stringify(a.error)}`);
  }
  const noIntermediate = await v.verify(withCertData(quote, blocks[0] + blocks[2]), {
    collateral,
    at: PHALA_AT,
    policy: accept(PHALA_STATUS),
  });
  assert.equal(noIntermediate.error?.check, 'pck.chain');
  const noRoot = await v.verify(withCertData(quote, blocks[0] + blocks[1]), {
    collateral,
    at: PHALA_AT,
    policy: accept(PHALA_STATUS),
  });
  assert.equal(noRoot.error?.check, 'pck.chain');
});

test('a caller-supplied root replaces the Intel pin; results on it say so', { skip: skipWithoutVectors }, async () => {
  const { quote, collateral } = phala();
  const other = freshKeyPair('ec', { namedCurve: 'P-256' });
  const raw = new Uint8Array(other.publicKey.export({ format: 'der', type: 'spki' })).subarray(-64);
  const a = await verifyQuote(quote, { collateral, at: PHALA_AT, trustedRoots: [raw], policy: accept(PHALA_STATUS) });
  assert.equal(a.error?.check, 'pck.chain');
  assert.equal(a.rootIsIntel, false);
  // Intel's root certificate passed explicitly is still Intel's.
  const b = await verifyQuote(quote, {
    collateral,
    at: PHALA_AT,
    trustedRoots: [vector('intel_sgx_root_ca.der')],
    policy: accept(PHALA_STATUS),
  });
  assert.equal(b.verdict, 'accepted');
  assert.equal(b.rootIsIntel, true);
});

test(
  'short, long and trailing quote bytes: FormatError from the parser, a rejected appraisal from the verifier',
  { skip: skipWithoutVectors },
  async () => {
    const { quote, collateral } = phala();
    const v = new DcapVerifier();
    const cases: Uint8Array[] = [
      quote.subarray(0, 47),
      quote.subarray(0, 436),
      quote.subarray(0, quote.length - 1),
      Uint8Array.from([...quote, 0]),
      Uint8Array.from([...quote, 1, 2, 3]),
    ];
    for (const bytes of cases) {
      assert.throws(
        () => parseQuote(bytes),
        (e: unknown) => e instanceof FormatError,
        `length ${bytes.length}`,
      );
      const a = await v.verify(bytes, { collateral, at: PHALA_AT, policy: accept(PHALA_STATUS) });
      assert.equal(a.verdict, 'rejected');
      assert.equal(a.error?.check, 'quote.format', `length ${bytes.length}`);
      assert.ok(
        ['ERR_SHORT_INPUT', 'ERR_TRAILING_BYTES', 'ERR_QUOTE_FORMAT', 'ERR_QUOTE_VERSION'].includes(a.error.code),
        `length ${bytes.length}: ${a.error.code}`,
      );
    }
  },
);

/** Byte ranges of the phala quote: [start, end) of the signed header‖body, the signature data before the PCK chain, and the chain. */
function regions(quote: Uint8Array): { signedAndSigData: Array<[number, number]>; pckChain: [number, number] } {
  const q = parseQuote(quote);
  const chainLen = q.signatureData.qe.certification.data.length;
  const chainStart = quote.length - chainLen;
  return { signedAndSigData: [[0, chainStart]], pckChain: [chainStart, quote.length] };
}

/**
 * The code each single-bit flip of a v3 quote (before its PEM chain) must be rejected with, by field
 * (Intel's v3 layout; `authLen` bytes of QE auth data). Length fields may be refused as too short or as
 * leaving trailing bytes, depending on the flip's direction.
 */
export function expectedFlipCodes(offset: number, authLen: number): string[] {
  const auth = 1014; // after header 48, body 384, sig_data_len 4, signature 64, attestation key 64, QE report 384, its signature 64, auth size 2
  const fields: Array<[number, string[]]> = [
    [2, ['ERR_QUOTE_VERSION']], // version
    [4, ['ERR_QUOTE_UNSUPPORTED']], // attestation key type
    [8, ['ERR_QUOTE_FORMAT']], // reserved (v3)
    [12, ['ERR_QUOTE_SIGNATURE']], // QE SVN, PCE SVN: signed only
    [28, ['ERR_QUOTE_UNSUPPORTED']], // QE vendor ID
    [432, ['ERR_QUOTE_SIGNATURE']], // user data, report body
    [436, ['ERR_SHORT_INPUT', 'ERR_TRAILING_BYTES']], // sig_data_len
    [500, ['ERR_QUOTE_SIGNATURE']], // quote signature
    [564, ['ERR_QE_KEY_BINDING']], // attestation key: no longer what the QE report binds
    [1012, ['ERR_QE_REPORT_SIGNATURE']], // QE report, QE report signature
    [auth, ['ERR_SHORT_INPUT', 'ERR_TRAILING_BYTES']], // QE auth data size
    [auth + authLen, ['ERR_QE_KEY_BINDING']], // QE auth data
    [auth + authLen + 2, ['ERR_QUOTE_UNSUPPORTED']], // certification data type
    [auth + authLen + 6, ['ERR_SHORT_INPUT', 'ERR_TRAILING_BYTES']], // certification data size
  ];
  for (const [end, codes] of fields) if (offset < end) return codes;
  return ['ERR_PCK_CHAIN']; // the PEM chain: no signature of the quote covers it, the chain checks do
}

/**
 * Flips every bit in `ranges` and verifies: each flip must be rejected with one of `expected(offset)`
 * (never accepted, never ERR_VERIFIER_INTERNAL). Returns the flips that were not.
 */
export async function flipAll(
  quote: Uint8Array,
  collateral: Collateral,
  ranges: Array<[number, number]>,
  expected: (offset: number) => string[],
): Promise<{ wrong: string[]; flips: number; ms: number }> {
  const v = new DcapVerifier();
  const opts = { collateral: memoryCollateral(collateral), at: PHALA_AT, policy: accept(PHALA_STATUS) };
  assert.equal((await v.verify(quote, opts)).verdict, 'accepted');
  const flipped = new Uint8Array(quote);
  const wrong: string[] = [];
  let flips = 0;
  const t0 = Date.now();
  for (const [from, to] of ranges) {
    for (let i = from; i < to; i++) {
      for (let bit = 0; bit < 8; bit++) {
        flipped[i] ^= 1 << bit;
        const a = await v.verify(flipped, opts);
        const code = a.verdict === 'rejected' ? (a.error?.code ?? 'no code') : 'accepted';
        if (!expected(i).includes(code))
          wrong.push(`bit ${i * 8 + bit}: ${code}, expected ${expected(i).join(' or ')}`);
        flipped[i] ^= 1 << bit;
        flips++;
      }
    }
  }
  assert.equal((await v.verify(quote, opts)).verdict, 'accepted', 'the original still verifies after the run');
  return { wrong, flips, ms: Date.now() - t0 };
}

test(
  "every single-bit flip of the phala quote header‖body, QE report, signatures, keys, auth data and length fields is rejected with its field's code",
  { skip: skipWithoutVectors, timeout: 60_000 },
  async () => {
    const { quote, collateral } = phala();
    const { signedAndSigData } = regions(quote);
    const authLen = parseQuote(quote).signatureData.qe.qeAuthData.length;
    assert.equal(
      signedAndSigData[0][1],
      436 + 64 + 64 + 384 + 64 + 2 + authLen + 2 + 4,
      'everything before the PEM chain',
    );
    const r = await flipAll(quote, collateral, signedAndSigData, (i) => expectedFlipCodes(i, authLen));
    assert.deepEqual(r.wrong.slice(0, 20), [], `${r.wrong.length} flips not rejected with their field's code`);
    console.log(`# ${r.flips} flips in ${r.ms} ms`);
  },
);

test(
  'differential: verdict and status agree with @phala/dcap-qvl on the vectors',
  { skip: skipWithoutVectors },
  async () => {
    const zkDir = vectorPath('sgx-v3-zkdcap');
    const zkCol = await directoryCollateral(zkDir).get(
      { fmspc: '00906ed50000', pckCa: 'processor', teeType: 'sgx' },
      ZK_AT,
    );
    const pem = (ders: Uint8Array[]) => ders.map((d) => toPem(d, 'CERTIFICATE')).join('');
    const rootPem = pem([vector('intel_sgx_root_ca.der')]);
    const zkQvl = {
      pck_crl_issuer_chain: '',
      root_ca_crl: Buffer.from(zkCol.rootCaCrl).toString('hex'),
      pck_crl: Buffer.from(zkCol.pckCrl).toString('hex'),
      tcb_info_issuer_chain: pem(zkCol.tcbSigningChain) + rootPem,
      tcb_info: zkCol.tcbInfo.text,
      tcb_info_signature: Buffer.from(zkCol.tcbInfo.signature).toString('hex'),
      qe_identity_issuer_chain: pem(zkCol.tcbSigningChain) + rootPem,
      qe_identity: zkCol.qeIdentity.text,
      qe_identity_signature: Buffer.from(zkCol.qeIdentity.signature).toString('hex'),
    };
    const cases: Array<{ name: string; quote: Uint8Array; qvl: Record<string, string>; at: Date }> = [
      {
        name: 'sgx-v3-phala',
        quote: vector('sgx-v3-phala/quote.dat'),
        qvl: JSON.parse(vectorText('sgx-v3-phala/collateral.json')),
        at: PHALA_AT,
      },
      { name: 'sgx-v3-zkdcap', quote: vector('sgx-v3-zkdcap/quote.dat'), qvl: zkQvl, at: ZK_AT },
      {
        name: 'tdx-v4-phala',
        quote: vector('tdx-v4-phala/quote.dat'),
        qvl: JSON.parse(vectorText('tdx-v4-phala/collateral.json')),
        at: new Date(1751328000 * 1000),
      },
      {
        name: 'sgx-v3-phala expired',
        quote: vector('sgx-v3-phala/quote.dat'),
        qvl: JSON.parse(vectorText('sgx-v3-phala/collateral.json')),
        at: new Date('2025-08-01T00:00:00Z'),
      },
    ];
    const allStatuses = [
      'UpToDate',
      'SWHardeningNeeded',
      'ConfigurationNeeded',
      'ConfigurationAndSWHardeningNeeded',
      'OutOfDate',
      'OutOfDateConfigurationNeeded',
    ];
    for (const c of cases) {
      let theirs: { ok: boolean; status?: string; advisories?: string[] };
      try {
        const r = QvlVerifier.newProd().verify(c.quote, c.qvl as never, c.at.getTime() / 1000);
        theirs = { ok: true, status: r.status, advisories: [...r.advisory_ids].sort() };
      } catch {
        theirs = { ok: false };
      }
      const ours = await verifyQuote(c.quote, {
        collateral: collateralFromQvlJson(c.qvl),
        at: c.at,
        policy: { acceptedTcbStatuses: allStatuses },
      });
      assert.equal(
        ours.verdict === 'accepted',
        theirs.ok,
        `${c.name}: verdict (ours ${ours.verdict} ${ours.error?.message ?? ''})`,
      );
      if (theirs.ok) {
        assert.equal(ours.tcbStatus, theirs.status, `${c.name}: status`);
        assert.deepEqual([...ours.advisoryIds].sort(), theirs.advisories, `${c.name}: advisories`);
      }
    }
  },
);

test(
  'a warm verifier reuses chain, CRL and collateral work; a new cache is cold',
  { skip: skipWithoutVectors },
  async () => {
    const { quote, collateral } = phala();
    const cache = new VerificationCache();
    await verifyQuote(quote, { collateral, at: PHALA_AT, cache });
    const misses = cache.misses;
    const again = await verifyQuote(quote, { collateral, at: PHALA_AT, cache, policy: accept(PHALA_STATUS) });
    assert.equal(again.verdict, 'accepted');
    assert.equal(cache.misses, misses, 'the second verification computed nothing new');
    // Time-dependent checks are not cached: the same warm cache still refuses an expired time.
    const late = await verifyQuote(quote, {
      collateral,
      at: new Date('2025-08-01T00:00:00Z'),
      cache,
      policy: accept(PHALA_STATUS),
    });
    assert.equal(late.verdict, 'rejected');
    assert.equal(late.error?.code, 'ERR_PCK_CRL');
  },
);

test(
  "sgx-v3-phala: the accepted appraisal's validity span is exact — accepted at both ends, rejected a millisecond outside, and it ends at the earliest expiry of the collateral it relied on",
  { skip: skipWithoutVectors },
  async () => {
    const { quote, collateral } = phala();
    const policy = accept(PHALA_STATUS);
    const ok = await verifyQuote(quote, { collateral, at: PHALA_AT, policy });
    assert.equal(ok.verdict, 'accepted');
    const from = new Date(ok.validity!.from);
    const until = new Date(ok.validity!.until);
    assert.ok(from <= PHALA_AT && PHALA_AT <= until);
    // The span ends no later than the collateral's own windows (TCB info and QE identity nextUpdate).
    assert.ok(
      until <= new Date(ok.collateral!.tcbInfo!.nextUpdate) && until <= new Date(ok.collateral!.qeIdentity!.nextUpdate),
    );
    assert.ok(
      from >= new Date(ok.collateral!.tcbInfo!.issueDate) && from >= new Date(ok.collateral!.qeIdentity!.issueDate),
    );
    for (const t of [from, until])
      assert.equal((await verifyQuote(quote, { collateral, at: t, policy })).verdict, 'accepted', t.toISOString());
    for (const t of [new Date(from.getTime() - 1), new Date(until.getTime() + 1)]) {
      const a = await verifyQuote(quote, { collateral, at: t, policy });
      assert.equal(a.verdict, 'rejected', t.toISOString());
      assert.equal(a.validity, undefined);
    }
  },
);
