import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex, hex } from '../../../src/bytes/util.ts';

test('fromHex ∘ hex is the identity on random bytes, with and without 0x, any case', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (b, upper) => {
      const h = upper ? hex(b).toUpperCase() : hex(b);
      assert.deepEqual(fromHex(h), b);
      assert.deepEqual(fromHex('0x' + h), b);
    }),
  );
});

test('fromHex agrees with a regex reference on arbitrary strings: accepts exactly even-length hex', () => {
  const ref = (s: string) => s.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(s);
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFgxz \n-'.split('')), maxLength: 40 }),
      (s) => {
        const t = s.startsWith('0x') ? s.slice(2) : s;
        let ok = true;
        try {
          fromHex(s);
        } catch (e) {
          ok = false;
          assert.equal((e as { code?: string }).code, 'ERR_HEX');
        }
        assert.equal(ok, ref(t), JSON.stringify(s));
      },
    ),
  );
  assert.throws(() => fromHex('ab', 2), /expected 2 bytes/);
});
