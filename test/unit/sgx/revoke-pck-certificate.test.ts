import { after, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Manufacturer } from '../../../src/sgx/manufacturer/manufacturer.ts';
import { normalizeSerial } from '../../../src/sgx/manufacturer/pki.ts';
import { buildPcsServer } from '../../../src/sgx/manufacturer/pcs-server.ts';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_ID, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } from '../../../src/sgx/platform.ts';

/**
 * A PCK certificate issued by a copy of the manufacturer in another process (an agent's world) is
 * revoked by the certificate itself: the PCS checks one of its PCK CAs signed it; a stranger's is refused.
 */
test('revocation by PCK certificate: ours (issued by a copy of the manufacturer) lands on the CRL; a stranger’s is ERR_MANUFACTURER_UNKNOWN', async () => {
  const m = await Manufacturer.create({});
  m.ensureFmspc(DEFAULT_FMSPC, { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN }, DEFAULT_PCE_ID);
  const dir = await mkdtemp(join(tmpdir(), 'catena-mfr-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await m.save(dir);
  const copy = await Manufacturer.load(dir);
  const platform = {
    ppid: new Uint8Array(16).fill(7),
    fmspc: DEFAULT_FMSPC,
    pceId: DEFAULT_PCE_ID,
    cpuSvn: new Uint8Array(16).fill(1),
    pceSvn: DEFAULT_PCE_SVN,
    tcbComponents: [...DEFAULT_TCB_COMPONENTS],
  };
  const der = await copy.issuePck(platform, generateP256().publicKey);
  const serial = new X509Certificate(der).serialNumber.toLowerCase();
  assert.throws(() => m.revokePck(serial), { code: 'ERR_MANUFACTURER_UNKNOWN' }, 'unknown by serial alone');

  const app = buildPcsServer({ manufacturer: m, adminToken: 't' });
  try {
    const r = await app.inject({
      method: 'POST',
      url: '/admin/v1/revocations',
      headers: { authorization: 'Bearer t' },
      payload: { pckCertificate: Buffer.from(der).toString('hex') },
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { revoked: [{ list: 'processor', serial: normalizeSerial(serial) }] });
    assert.ok(
      m.revoked('processor').some((e) => normalizeSerial(e.serial) === normalizeSerial(serial)),
      'on the processor CA CRL',
    );
    // A certificate of another manufacturer: refused, nothing revoked.
    const other = await Manufacturer.create({});
    other.ensureFmspc(
      DEFAULT_FMSPC,
      { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN },
      DEFAULT_PCE_ID,
    );
    const foreign = await other.issuePck(platform, generateP256().publicKey);
    const before = m.revoked('processor').length;
    const refused = await app.inject({
      method: 'POST',
      url: '/admin/v1/revocations',
      headers: { authorization: 'Bearer t' },
      payload: { pckCertificate: Buffer.from(foreign).toString('hex') },
    });
    assert.equal(refused.statusCode, 404);
    assert.equal(m.revoked('processor').length, before);
  } finally {
    await app.close();
  }
});
