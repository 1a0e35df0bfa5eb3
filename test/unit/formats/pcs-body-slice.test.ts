import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slicePcsBody } from '../../../src/formats/pcs-body.ts';
import { thrownCode } from '../../helpers/error-code.ts';

const sig = 'ab'.repeat(64);
const code = thrownCode;

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

test('exactly two members, each once: a repeated one is refused (JSON.parse keeps the last, the slice would be the first)', () => {
  const inner = '{"a":"[{"}';
  const refused = (body: string, why: string) =>
    assert.equal(
      code(() => slicePcsBody(body, 'tcbInfo')),
      'ERR_PCS_BODY',
      why,
    );
  refused(`{"signature":"${sig}","signature":"${sig}","tcbInfo":${inner}}`, 'signature twice');
  refused(`{"tcbInfo":${inner},"tcbInfo":{},"signature":"${sig}"}`, 'tcbInfo twice, the signed one first');
  refused(`{"tcbInfo":{},"tcbInfo":${inner},"signature":"${sig}"}`, 'tcbInfo twice, the signed one last');
  refused(`{"tcbInfo":${inner},"signature":"${sig}","x":1}`, 'a third member');
  refused(`{"tcbInfo":${inner}}`, 'no signature');
  refused(`{"signature":"${sig}"}`, 'no tcbInfo');
  // The key as JSON.parse reads it but not as written: not the member the signature is checked over.
  refused(`{"tcb\\u0049nfo":${inner},"signature":"${sig}"}`, 'an escaped key name');
  // What each member's value must be: the key's an object, the signature a string.
  refused(`{"tcbInfo":[{}],"signature":"${sig}"}`, 'tcbInfo an array');
  refused(`{"tcbInfo":"{}","signature":"${sig}"}`, 'tcbInfo a string');
  refused(`{"tcbInfo":${inner},"signature":{"r":"${sig}"}}`, 'signature an object');
  refused(`{"tcbInfo":${inner},"signature":["${sig}"]}`, 'signature an array');
  // The same members once each, in either order and spacing: accepted, the slice exact.
  assert.equal(slicePcsBody(`{"signature":"${sig}" , "tcbInfo":${inner} }`, 'tcbInfo').text, inner);
  assert.equal(slicePcsBody(`{ "tcbInfo" : ${inner},"signature":"${sig}"}`, 'tcbInfo').text, inner);
});
