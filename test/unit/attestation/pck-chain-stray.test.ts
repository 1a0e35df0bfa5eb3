import { after, before, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { pemCertificates, toPem } from '../../../src/attestation/pem.ts';
import assert from 'node:assert/strict';
import { createDcapRemoteVerifier } from '../../../src/cot/index.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import type { CollateralBlob } from '../../../src/chain/types.ts';

/**
 * The PCK chain in a quote is covered by no signature, so every certificate it carries must be on the
 * chain to the trusted root: an altered copy of the root (its key changed) used to be passed over for
 * the trusted root and the quote accepted; it is refused (pck.chain) now.
 */
let world: EmulatedWorld;
let quote: Uint8Array;
let blob: CollateralBlob;
before(async () => {
  world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 1 });
  blob = await world.collateralFor();
  const h = await world.loadElement(0, world.elementImage(generateVendorKey()));
  quote = await world.quote(h, await h.evidence(world.qeTargetInfo(h), 'c', '00'.repeat(32)));
});
after(() => world.close());

/**
 * The quote with the public key of its embedded root certificate altered (one bit of the EC point,
 * re-encoded in place: same length): the altered copy signs nothing, so a chain builder looking for
 * the issuer of the PCK CA passes it over — and finds the trusted root instead.
 */
function alterEmbeddedRootKey(q: Uint8Array): Uint8Array {
  const text = Buffer.from(q).toString('latin1');
  const begin = text.lastIndexOf('-----BEGIN CERTIFICATE-----');
  const end = text.indexOf('-----END CERTIFICATE-----', begin) + '-----END CERTIFICATE-----'.length;
  const block = text.slice(begin, end);
  const [der] = pemCertificates(block);
  const point = new X509Certificate(der).publicKey.export({ format: 'der', type: 'spki' }).subarray(-65);
  const at = Buffer.from(der).indexOf(point);
  assert.ok(at > 0, 'the root key is in the certificate');
  const altered = Buffer.from(der);
  altered[at + 10] ^= 0x01;
  const pem = toPem(altered, 'CERTIFICATE').trimEnd();
  assert.equal(pem.length, block.length, 'same PEM layout');
  const out = Buffer.from(q);
  out.write(pem, begin, 'latin1');
  return new Uint8Array(out);
}

test('a quote whose PCK chain carries an altered root is refused at pck.chain (ERR_PCK_CHAIN), not verified with the trusted root instead', async () => {
  const v = createDcapRemoteVerifier(new Uint8Array(world.root));
  const good = await v.verify(quote, blob, new Date());
  assert.equal(good.ok, true, 'control: the quote as made verifies');
  const bad = await createDcapRemoteVerifier(new Uint8Array(world.root)).verify(
    alterEmbeddedRootKey(quote),
    blob,
    new Date(),
  );
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.check, 'pck.chain');
  assert.match(!bad.ok ? bad.message : '', /not on the chain to the trusted root/);
});
