import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex } from '../../../src/bytes/util.ts';
import { aesCmac } from '../../../src/crypto/cmac.ts';
import { parseKeyRequest } from '../../../src/formats/keyrequest.ts';
import { ReportMac } from '../../../src/sgx/report-mac.ts';

// ReportMac keeps the CMAC of one REPORT key: derived again only when the KEYID changes.
test('ReportMac: EGETKEY once per KEYID, tags equal to a fresh AES-CMAC under the derived key', async () => {
  const asked: string[] = [];
  const keyFor = (keyId: Uint8Array) => Uint8Array.from({ length: 16 }, (_, i) => keyId[i] ^ 0x5a);
  const ctx = {
    async egetkey(req: Uint8Array) {
      const kr = parseKeyRequest(req);
      asked.push(hex(kr.keyId));
      return keyFor(kr.keyId);
    },
  };
  const rm = new ReportMac(ctx);
  const idA = new Uint8Array(32).fill(1);
  const idB = new Uint8Array(32).fill(2);
  const body = Uint8Array.from({ length: 384 }, (_, i) => i & 0xff);
  for (const id of [idA, idA, idB, idB, idA])
    assert.equal(hex((await rm.for(id)).mac(body)), hex(aesCmac(keyFor(id), body)));
  assert.deepEqual(asked, [hex(idA), hex(idB), hex(idA)]);
  // The KEYID it keeps is its own copy: the caller's array altered afterwards changes nothing.
  const idC = new Uint8Array(32).fill(3);
  await rm.for(idC);
  idC.fill(4);
  assert.equal(
    hex((await rm.for(new Uint8Array(32).fill(3))).mac(body)),
    hex(aesCmac(keyFor(new Uint8Array(32).fill(3)), body)),
  );
  assert.equal(asked.length, 4);
});
