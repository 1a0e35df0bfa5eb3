import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildPcsServer, Manufacturer } from '../../../src/sgx/manufacturer/index.ts';

/**
 * The emulated PCS answers conditional requests (issue 13, item 2: the monitor polls with If-None-Match):
 * every 200 under /sgx/certification/v4 carries a strong ETag, the SHA-256 of the body; a request whose
 * If-None-Match names it is answered 304 without a body; a changed document has a new ETag.
 */
const FMSPC = '00906ed50000';
const TOKEN = 'etag-test-admin-token-0123456789';

test('ETag = SHA-256 of the body; If-None-Match with it (or *, or in a list, or weak) → 304, another → 200', async () => {
  const m = await Manufacturer.create();
  m.ensureFmspc(FMSPC, { components: Array(16).fill(2), pceSvn: 13 });
  const app = buildPcsServer({ manufacturer: m, adminToken: TOKEN });
  try {
    const V4 = '/sgx/certification/v4';
    for (const url of [
      `${V4}/tcb?fmspc=${FMSPC}`,
      `${V4}/qe/identity?update=early`,
      `${V4}/pckcrl?ca=platform&encoding=der`,
      `${V4}/rootcacrl`,
      `${V4}/tcbevaluationdatanumbers`,
    ]) {
      const first = await app.inject({ method: 'GET', url });
      assert.equal(first.statusCode, 200, url);
      const tag = first.headers.etag as string;
      assert.equal(tag, `"${createHash('sha256').update(first.rawPayload).digest('hex')}"`, url);
      for (const inm of [tag, `W/${tag}`, `"other", ${tag}`, '*']) {
        const again = await app.inject({ method: 'GET', url, headers: { 'if-none-match': inm } });
        assert.equal(again.statusCode, 304, `${url} If-None-Match: ${inm}`);
        assert.equal(again.rawPayload.length, 0);
        assert.equal(again.headers.etag, tag);
      }
      const other = await app.inject({ method: 'GET', url, headers: { 'if-none-match': '"0000"' } });
      assert.equal(other.statusCode, 200, url);
      assert.deepEqual(other.rawPayload, first.rawPayload);
    }
    // A changed document (a staged recovery) has a new ETag: the old one no longer matches.
    const url = `${V4}/tcb?fmspc=${FMSPC}&update=early`;
    const before = await app.inject({ method: 'GET', url });
    const staged = await app.inject({
      method: 'POST',
      url: '/admin/v1/tcb-recovery',
      payload: { stage: 'early' },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(staged.statusCode, 200);
    const after = await app.inject({ method: 'GET', url, headers: { 'if-none-match': before.headers.etag as string } });
    assert.equal(after.statusCode, 200);
    assert.notEqual(after.headers.etag, before.headers.etag);
    // Errors carry none.
    const missing = await app.inject({
      method: 'GET',
      url: `${V4}/tcb?fmspc=00906ed50001`,
      headers: { 'if-none-match': '*' },
    });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers.etag, undefined);
  } finally {
    await app.close();
  }
});
