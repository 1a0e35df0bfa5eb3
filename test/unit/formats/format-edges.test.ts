import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dateField } from '../../../src/formats/json-fields.ts';
import { describeSecinfoFlags, serializeSecinfo, SECINFO_SIZE } from '../../../src/formats/secinfo.ts';
import { thrownCode } from '../../helpers/error-code.ts';

const code = thrownCode;

test('SECINFO flags: zero (no permissions, PT_SECS) serialises; a negative bigint is an ArgumentError', () => {
  assert.deepEqual(serializeSecinfo({ flags: 0n }), new Uint8Array(SECINFO_SIZE));
  for (const flags of [-1n, -0x100n, -(1n << 64n)])
    assert.equal(
      code(() => serializeSecinfo({ flags })),
      'ERR_ARGUMENT',
      String(flags),
    );
});

test('an Intel timestamp ends at its Z: V8 would parse a trailing NUL, the field refuses it', () => {
  const at = '2026-01-01T00:00:00Z';
  assert.equal(dateField({ t: at }, 't', 'test', 'ERR_TEST').getTime(), Date.UTC(2026, 0, 1));
  assert.equal(
    dateField({ t: '2026-01-01T00:00:00.5Z' }, 't', 'test', 'ERR_TEST').getTime(),
    Date.UTC(2026, 0, 1) + 500,
  );
  // V8's Date parses this string (a trailing NUL) as the same instant: only the pattern's end anchor refuses it.
  assert.equal(
    code(() => dateField({ t: `${at}\0` }, 't', 'test', 'ERR_TEST')),
    'ERR_TEST',
  );
});

test('SECINFO flags described with the SDM names: R W X PENDING MODIFIED PR (bits 0..5), PT_<PAGE_TYPE> (bits 8..15)', () => {
  const bits = ['R', 'W', 'X', 'PENDING', 'MODIFIED', 'PR'];
  bits.forEach((name, i) => assert.equal(describeSecinfoFlags(1n << BigInt(i)), `${name}|PT_SECS`));
  assert.equal(describeSecinfoFlags(0x3fn), `${bits.join('|')}|PT_SECS`);
  const types = ['SECS', 'TCS', 'REG', 'VA', 'TRIM', 'SS_FIRST', 'SS_REST'];
  types.forEach((name, t) => assert.equal(describeSecinfoFlags(BigInt(t) << 8n), `PT_${name}`));
  // A page type the SDM does not name is shown by number.
  assert.equal(describeSecinfoFlags((0x17n << 8n) | 1n), 'R|PT_0x17');
});
