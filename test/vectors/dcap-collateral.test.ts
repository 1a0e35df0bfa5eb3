import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import {
  alwaysFailCollateral,
  collateralFromQvlJson,
  collateralToQvlJson,
  pcsCollateral,
  verifyQuote,
} from '../../src/attestation/index.ts';
import { skipWithoutVectors, vector, vectorText } from '../helpers/vectors.ts';

/**
 * Collateral sources on real collateral: a PCS v4 look-alike on 127.0.0.1 serving the phala vector's
 * collateral exactly as Intel's API does (bodies, URL-encoded PEM issuer-chain headers, DER CRLs, a hex
 * root CA CRL as PCCS serves it), cached until nextUpdate; and the always-fail source.
 */
const AT = new Date('2025-07-01T00:00:00Z');
const policy = { acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] };

test(
  'PCS/PCCS v4 source: paths, headers, verification through it, caching until nextUpdate',
  { skip: skipWithoutVectors },
  async () => {
    const j = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url!);
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/sgx/certification/v4/tcb' && u.searchParams.get('fmspc') === '00A067110000') {
        res.setHeader('TCB-Info-Issuer-Chain', encodeURIComponent(j.tcb_info_issuer_chain));
        res.end(`{"tcbInfo":${j.tcb_info},"signature":"${j.tcb_info_signature}"}`);
      } else if (u.pathname === '/sgx/certification/v4/qe/identity') {
        res.setHeader('SGX-Enclave-Identity-Issuer-Chain', encodeURIComponent(j.qe_identity_issuer_chain));
        res.end(`{"enclaveIdentity":${j.qe_identity},"signature":"${j.qe_identity_signature}"}`);
      } else if (
        u.pathname === '/sgx/certification/v4/pckcrl' &&
        u.searchParams.get('ca') === 'processor' &&
        u.searchParams.get('encoding') === 'der'
      ) {
        res.setHeader('SGX-PCK-CRL-Issuer-Chain', encodeURIComponent(j.pck_crl_issuer_chain));
        res.end(Buffer.from(j.pck_crl, 'hex'));
      } else if (u.pathname === '/sgx/certification/v4/rootcacrl') {
        res.end(j.root_ca_crl);
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sgx/certification/v4/`;
      const src = pcsCollateral(base);
      const quote = vector('sgx-v3-phala/quote.dat');
      const a = await verifyQuote(quote, { collateral: src, at: AT, policy });
      assert.equal(a.verdict, 'accepted', JSON.stringify(a.error));
      assert.equal(a.tcbStatus, 'ConfigurationAndSWHardeningNeeded');
      assert.equal(src.fetches, 4);
      await verifyQuote(quote, { collateral: src, at: new Date('2025-07-10T00:00:00Z'), policy });
      assert.equal(src.fetches, 4, 'cached while every piece is current');
      const late = await verifyQuote(quote, { collateral: src, at: new Date('2025-07-20T00:00:00Z'), policy });
      assert.equal(src.fetches, 8, 'fetched again past the earliest nextUpdate');
      assert.equal(late.verdict, 'rejected');
      assert.equal(late.error?.code, 'ERR_PCK_CRL', 'the PCK CRL is the first expired piece, in check order');
      // A platform the service does not know: the source fails, the appraisal names it.
      const other = pcsCollateral(base.replace('/sgx/certification/v4/', '/nothing-here'));
      const b = await verifyQuote(quote, { collateral: other, at: AT, policy });
      assert.equal(b.error?.check, 'collateral.source');
    } finally {
      await new Promise((r) => server.close(r));
    }
  },
);

test(
  'the always-fail source makes every verification a rejection at collateral.source',
  { skip: skipWithoutVectors },
  async () => {
    const a = await verifyQuote(vector('sgx-v3-phala/quote.dat'), {
      collateral: alwaysFailCollateral('offline'),
      at: AT,
      policy,
    });
    assert.equal(a.verdict, 'rejected');
    assert.equal(a.error?.check, 'collateral.source');
    assert.match(a.error.message, /offline/);
    assert.equal(a.error?.code, 'ERR_COLLATERAL_UNAVAILABLE');
  },
);

test('dcap-qvl collateral JSON survives a round trip through our Collateral type', { skip: skipWithoutVectors }, () => {
  const j = JSON.parse(vectorText('tdx-v4-phala/collateral.json')) as Record<string, string>;
  const back = collateralToQvlJson(collateralFromQvlJson(j));
  for (const k of ['tcb_info', 'qe_identity']) assert.equal(back[k], j[k], k);
  for (const k of ['tcb_info_signature', 'qe_identity_signature', 'root_ca_crl', 'pck_crl'])
    assert.equal(back[k], j[k].toLowerCase(), k);
});
