import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aesCmac, AesCmac } from '../../../src/crypto/cmac.ts';
import { fromHex, hex } from '../../../src/bytes/util.ts';

// RFC 4493 §4 test vectors (key 2b7e1516 28aed2a6 abf71588 09cf4f3c).
const key = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
const msg = fromHex(
  '6bc1bee22e409f96e93d7e117393172a' +
    'ae2d8a571e03ac9c9eb76fac45af8e51' +
    '30c81c46a35ce411e5fbc1191a0a52ef' +
    'f69f2445df4f9b17ad2b417be66c3710',
);
const cases: Array<[string, number, string]> = [
  ['Example 1: len 0', 0, 'bb1d6929e95937287fa37d129b756746'],
  ['Example 2: len 16', 16, '070a16b46b4d4144f79bdd9dd04a287c'],
  ['Example 3: len 40', 40, 'dfa66747de9ae63030ca32611497c827'],
  ['Example 4: len 64', 64, '51f0bebf7e3b9d92fc49741779363cfe'],
];
for (const [name, len, expected] of cases) {
  test(`AES-CMAC RFC 4493 ${name}`, () => {
    assert.equal(hex(aesCmac(key, msg.subarray(0, len))), expected);
  });
}

test('AES-CMAC RFC 4493 subkeys follow from the vectors: a one-bit change changes the tag', () => {
  const m = msg.slice(0, 40);
  m[39] ^= 1;
  assert.notEqual(hex(aesCmac(key, m)), 'dfa66747de9ae63030ca32611497c827');
});

test('AES-CMAC RFC 4493: one instance MACs the four examples in any order, repeatedly', () => {
  const mac = new AesCmac(key);
  const order = [3, 0, 2, 2, 1, 0, 3, 1];
  for (const i of order) assert.equal(hex(mac.mac(msg.subarray(0, cases[i][1]))), cases[i][2]);
});

test('property: an instance reused across messages gives the tag of a fresh instance (the CBC chaining value never leaks into a tag)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 12 }),
      (k, msgs) => {
        const reused = new AesCmac(k);
        for (const m of msgs) assert.equal(hex(reused.mac(m)), hex(new AesCmac(k).mac(m)));
      },
    ),
  );
});

test('AES-CMAC: a key other than 16 bytes is ERR_ARGUMENT naming it; a caller changing a returned tag changes no later tag', () => {
  assert.throws(() => new AesCmac(new Uint8Array(15)), { code: 'ERR_ARGUMENT', message: /^cmac key: / });
  const mac = new AesCmac(key);
  const first = mac.mac(msg.subarray(0, 16));
  first.fill(0);
  assert.equal(hex(mac.mac(msg.subarray(0, 40))), 'dfa66747de9ae63030ca32611497c827');
});
