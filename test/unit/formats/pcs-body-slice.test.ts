import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slicePcsBody } from '../../../src/formats/pcs-body.ts';

const sig = 'ab'.repeat(64);
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped ${String(e)}`;
  }
  return 'no error';
};

test('a JSON value that is not an object (null, an array, a string) is ERR_PCS_BODY', () => {
  for (const body of ['null', '[1,2]', '"ab"', '12'])
    assert.equal(
      code(() => slicePcsBody(body, 'tcbInfo')),
      'ERR_PCS_BODY',
      body,
    );
});

test('whitespace before the body and between the tokens is kept out of the signed text', () => {
  const inner = '{ "id" : "TDX", "x": [1, {"y": "}"}] }';
  const body = `\n \t{ "signature" : "${sig}" ,\r\n "tcbInfo" :  ${inner} }\n`;
  const s = slicePcsBody(body, 'tcbInfo');
  assert.equal(s.text, inner);
  assert.equal(s.signature.length, 64);
  assert.ok(s.signature.every((b) => b === 0xab));
});

test('a member whose value is an array is skipped whole, brackets inside its strings included', () => {
  // JSON.parse keeps the last of duplicated members: the signature is the string; the array before it
  // is a member the splitter walks past to reach tcbInfo.
  const inner = '{"a":"[{"}';
  const body = `{"signature":["]", {"k": "}"}, [1]],"signature":"${sig}","tcbInfo":${inner}}`;
  assert.equal(slicePcsBody(body, 'tcbInfo').text, inner);
  // The key's own value must be an object.
  assert.equal(
    code(() => slicePcsBody(`{"tcbInfo":[{}],"signature":"${sig}"}`, 'tcbInfo')),
    'ERR_PCS_BODY',
  );
});
