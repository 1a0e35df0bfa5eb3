import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pcsCollateral } from '../../../src/attestation/collateral/from-pcs.ts';
import { pemCertificates } from '../../../src/attestation/pem.ts';
import { x509 } from '../../helpers/peculiar-oracle.ts';
import { skipWithoutVectors, vectorText } from '../../helpers/vectors.ts';

/**
 * The PCS/PCCS source (collateral/from-pcs.ts) on an in-process fetch serving Intel's real collateral
 * (the phala vector) as PCS v4 does: the exact URLs, the headers, each refusal with its code, and the
 * cache — per (TEE, FMSPC, PCK CA), used up to the earliest nextUpdate inclusive, never for collateral
 * already stale or unreadable.
 */
const REQ = { fmspc: '00a067110000', pckCa: 'processor' as const, teeType: 'sgx' as const };

function server(
  o: { status?: number; headerNames?: Partial<Record<'tcb' | 'qe' | 'crl', string>>; tcbBody?: string } = {},
) {
  const j = JSON.parse(vectorText('sgx-v3-phala/collateral.json')) as Record<string, string>;
  const calls: Array<{ url: string; headers: unknown }> = [];
  const fetch = (async (url: string, init?: { headers?: unknown }) => {
    calls.push({ url, headers: init?.headers });
    const u = new URL(url);
    const h = new Headers();
    let body: string | Buffer = '';
    if (u.pathname.endsWith('/tcb')) {
      h.set(o.headerNames?.tcb ?? 'TCB-Info-Issuer-Chain', encodeURIComponent(j.tcb_info_issuer_chain));
      body = o.tcbBody ?? `{"tcbInfo":${j.tcb_info},"signature":"${j.tcb_info_signature}"}`;
    } else if (u.pathname.endsWith('/qe/identity')) {
      h.set(o.headerNames?.qe ?? 'SGX-Enclave-Identity-Issuer-Chain', encodeURIComponent(j.qe_identity_issuer_chain));
      body = `{"enclaveIdentity":${j.qe_identity},"signature":"${j.qe_identity_signature}"}`;
    } else if (u.pathname.endsWith('/pckcrl')) {
      h.set(o.headerNames?.crl ?? 'SGX-PCK-CRL-Issuer-Chain', encodeURIComponent(j.pck_crl_issuer_chain));
      body = Buffer.from(j.pck_crl, 'hex');
    } else body = j.root_ca_crl;
    return new Response(typeof body === 'string' ? body : new Uint8Array(body), {
      status: o.status ?? 200,
      headers: h,
    });
  }) as unknown as typeof globalThis.fetch;
  // The earliest nextUpdate of the four, read independently (JSON fields; @peculiar/x509 for the CRLs).
  const nextUpdates = [
    Date.parse((JSON.parse(j.tcb_info) as { nextUpdate: string }).nextUpdate),
    Date.parse((JSON.parse(j.qe_identity) as { nextUpdate: string }).nextUpdate),
    new x509.X509Crl(Buffer.from(j.pck_crl, 'hex')).nextUpdate!.getTime(),
    new x509.X509Crl(Buffer.from(j.root_ca_crl, 'hex')).nextUpdate!.getTime(),
  ];
  return { j, calls, fetch, until: new Date(Math.min(...nextUpdates)) };
}

test(
  'PCS: the exact URLs (base URL normalised, FMSPC upper-case, update=), headers passed, fields read',
  { skip: skipWithoutVectors },
  async () => {
    const s = server();
    const src = pcsCollateral('https://pcs.example/x/sgx/certification/v4//', {
      fetch: s.fetch,
      headers: { K: 'v' },
      update: 'early',
    });
    const c = await src.get(REQ, new Date(s.until.getTime() - 1000));
    assert.deepEqual(
      s.calls.map((x) => x.url),
      [
        'https://pcs.example/x/sgx/certification/v4/tcb?fmspc=00A067110000&update=early',
        'https://pcs.example/x/sgx/certification/v4/qe/identity?update=early',
        'https://pcs.example/x/sgx/certification/v4/pckcrl?ca=processor&encoding=der',
        'https://pcs.example/x/sgx/certification/v4/rootcacrl',
      ],
    );
    assert.deepEqual(s.calls[0].headers, { K: 'v' });
    assert.equal(c.tcbInfo.text, s.j.tcb_info);
    assert.deepEqual(c.tcbSigningChain, pemCertificates(s.j.tcb_info_issuer_chain));
    assert.deepEqual(c.qeIdentitySigningChain, pemCertificates(s.j.qe_identity_issuer_chain));
    assert.deepEqual(c.pckCrlIssuerChain, pemCertificates(s.j.pck_crl_issuer_chain));
    assert.equal(Buffer.from(c.rootCaCrl).toString('hex'), s.j.root_ca_crl, 'hex text served: DER read');
    assert.equal(c.origin, 'PCS https://pcs.example/x');
    const t = server();
    await pcsCollateral('http://h/tdx/certification/v4', { fetch: t.fetch }).get(
      { ...REQ, teeType: 'tdx', pckCa: 'platform' },
      t.until,
    );
    assert.deepEqual(
      t.calls.map((x) => x.url),
      [
        'http://h/tdx/certification/v4/tcb?fmspc=00A067110000',
        'http://h/tdx/certification/v4/qe/identity',
        'http://h/sgx/certification/v4/pckcrl?ca=platform&encoding=der',
        'http://h/sgx/certification/v4/rootcacrl',
      ],
    );
    assert.deepEqual(t.calls[0].headers, {});
    const v = server({ headerNames: { tcb: 'SGX-TCB-Info-Issuer-Chain', qe: 'Enclave-Identity-Issuer-Chain' } });
    const c2 = await pcsCollateral('http://h', { fetch: v.fetch }).get(REQ, v.until);
    assert.deepEqual(c2.tcbSigningChain, c.tcbSigningChain, 'the older header names too');
  },
);

test(
  'PCS: the cache is per (TEE, FMSPC, PCK CA) and holds to the earliest nextUpdate, inclusive',
  { skip: skipWithoutVectors },
  async () => {
    const s = server();
    const src = pcsCollateral('http://h', { fetch: s.fetch });
    const before = new Date(s.until.getTime() - 86_400_000);
    const first = await src.get(REQ, before);
    assert.equal(src.fetches, 4);
    assert.equal(await src.get({ ...REQ, fmspc: '00A067110000' }, s.until), first, 'a hit up to nextUpdate itself');
    assert.equal(src.fetches, 4);
    await src.get({ ...REQ, pckCa: 'platform' }, before);
    assert.equal(src.fetches, 8, 'another PCK CA: its own CRL');
    await src.get({ ...REQ, teeType: 'tdx' }, before);
    assert.equal(src.fetches, 12, 'another TEE');
    await src.get({ ...REQ, fmspc: '00A067110001' }, before);
    assert.equal(src.fetches, 16, 'another FMSPC');
    const after = new Date(s.until.getTime() + 1);
    const again = await src.get(REQ, after);
    assert.equal(src.fetches, 20, 'past nextUpdate: fetched again');
    assert.notEqual(again, first);
    await src.get(REQ, after);
    assert.equal(src.fetches, 24, 'collateral already stale at `at` is not cached');
    await src.get(REQ, before);
    assert.equal(src.fetches, 28, 'and the stale entry is gone');
  },
);

test(
  'PCS: unreadable collateral is returned but never cached; refusals and their codes',
  { skip: skipWithoutVectors },
  async () => {
    const bad = server({ tcbBody: `{"tcbInfo":{"id":"SGX"},"signature":"${'00'.repeat(64)}"}` });
    const src = pcsCollateral('http://h', { fetch: bad.fetch });
    await src.get(REQ, bad.until);
    await src.get(REQ, bad.until);
    assert.equal(src.fetches, 8);
    const notJson = server({ tcbBody: 'not json' });
    await assert.rejects(
      pcsCollateral('http://h', { fetch: notJson.fetch }).get(REQ, notJson.until),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_COLLATERAL_FORMAT');
        assert.match(e.message, /^PCS http:\/\/h: /);
        assert.ok(e.cause instanceof Error);
        return true;
      },
    );
    const down = server({ status: 404 });
    await assert.rejects(pcsCollateral('http://h', { fetch: down.fetch }).get(REQ, down.until), {
      code: 'ERR_COLLATERAL_UNAVAILABLE',
      message: /^GET http:\/\/h\/sgx\/certification\/v4\/.* HTTP 404$/,
    });
    const boom = (async () => {
      throw new Error('refused');
    }) as unknown as typeof globalThis.fetch;
    await assert.rejects(
      pcsCollateral('http://h', { fetch: boom }).get(REQ, down.until),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_COLLATERAL_UNAVAILABLE');
        assert.match(e.message, /^GET http:\/\/h\/.*: refused$/);
        assert.equal((e.cause as Error).message, 'refused');
        return true;
      },
    );
    const noHeader = server({ headerNames: { crl: 'X-Other' } });
    await assert.rejects(pcsCollateral('http://h', { fetch: noHeader.fetch }).get(REQ, noHeader.until), {
      code: 'ERR_COLLATERAL_FORMAT',
      message: 'GET http://h/sgx/certification/v4/pckcrl?ca=processor&encoding=der: no SGX-PCK-CRL-Issuer-Chain header',
    });
    // CRLs served as PEM (X509 CRL blocks) are read as the same DER.
    const pem = server();
    const pemOf = (hexDer: string) =>
      `-----BEGIN X509 CRL-----\n${Buffer.from(hexDer, 'hex').toString('base64')}\n-----END X509 CRL-----\n`;
    const pemFetch = (async (url: string, init?: { headers?: unknown }) => {
      const r = await pem.fetch(url, init as RequestInit);
      const path = new URL(url).pathname;
      if (!path.endsWith('/pckcrl') && !path.endsWith('/rootcacrl')) return r;
      return new Response(pemOf(path.endsWith('/pckcrl') ? pem.j.pck_crl : pem.j.root_ca_crl), { headers: r.headers });
    }) as unknown as typeof globalThis.fetch;
    const fromPem = await pcsCollateral('http://h', { fetch: pemFetch }).get(REQ, pem.until);
    assert.equal(Buffer.from(fromPem.pckCrl).toString('hex'), pem.j.pck_crl.toLowerCase());
    assert.equal(Buffer.from(fromPem.rootCaCrl).toString('hex'), pem.j.root_ca_crl.toLowerCase());
    // A chain header that is there but holds no PEM certificate is refused as such (not skipped as absent).
    const garbled = server();
    const garbledFetch = (async (url: string, init?: { headers?: unknown }) => {
      const r = await garbled.fetch(url, init as RequestInit);
      if (!new URL(url).pathname.endsWith('/tcb')) return r;
      const h = new Headers(r.headers);
      h.set('TCB-Info-Issuer-Chain', 'no certificate here');
      return new Response(await r.arrayBuffer(), { status: 200, headers: h });
    }) as unknown as typeof globalThis.fetch;
    await assert.rejects(
      pcsCollateral('http://h', { fetch: garbledFetch }).get(REQ, garbled.until),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_COLLATERAL_FORMAT');
        assert.match(
          e.message,
          /^GET http:\/\/h\/sgx\/certification\/v4\/tcb\?fmspc=00a067110000: header TCB-Info-Issuer-Chain: /i,
        );
        return true;
      },
    );
    for (const fmspc of ['00A06711000', '00A0671100000', 'G0A067110000', 'x00A067110000', '00A067110000x']) {
      await assert.rejects(pcsCollateral('http://h', { fetch: boom }).get({ ...REQ, fmspc }, down.until), {
        code: 'ERR_ARGUMENT',
        message: `FMSPC ${fmspc} is not 6 bytes of hex`,
      });
    }
  },
);

test(
  'PCS: only a trailing API path is cut from the base URL; fetched exactly at nextUpdate, still cached',
  { skip: skipWithoutVectors },
  async () => {
    const w = server();
    await pcsCollateral('http://h/sgx/certification/v4/more', { fetch: w.fetch }).get(REQ, w.until);
    assert.equal(w.calls[3].url, 'http://h/sgx/certification/v4/more/sgx/certification/v4/rootcacrl');
    const edge = server();
    const src = pcsCollateral('http://h', { fetch: edge.fetch });
    await src.get(REQ, edge.until);
    await src.get(REQ, edge.until);
    assert.equal(src.fetches, 4);
  },
);
