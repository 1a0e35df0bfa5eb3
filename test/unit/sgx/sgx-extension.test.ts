import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as asn1js from 'asn1js';
import { hex } from '../../../src/bytes/util.ts';
import { encodeSgxExtension, SGX_TYPE, type SgxExtensionFields } from '../../../src/sgx/manufacturer/sgx-extension.ts';
import { SGX_EXTENSION_OID } from '../../../src/sgx/manufacturer/names.ts';

// The asn1js encoding the DER writer replaced, kept here as the reference for the exact bytes.
function reference(f: SgxExtensionFields): Uint8Array {
  const entry = (arc: string, value: asn1js.BaseBlock) =>
    new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: `${SGX_EXTENSION_OID}.${arc}` }), value] });
  const octets = (b: Uint8Array) => new asn1js.OctetString({ valueHex: Uint8Array.from(b).buffer });
  const pceId = new Uint8Array(2);
  new DataView(pceId.buffer).setUint16(0, f.pceId, true);
  const tcb = [
    ...f.tcbComponents.map((svn, i) => entry(`2.${i + 1}`, new asn1js.Integer({ value: svn }))),
    entry('2.17', new asn1js.Integer({ value: f.pceSvn })),
    entry('2.18', octets(f.cpuSvn)),
  ];
  const items = [
    entry('1', octets(f.ppid)),
    entry('2', new asn1js.Sequence({ value: tcb })),
    entry('3', octets(pceId)),
    entry('4', octets(f.fmspc)),
    entry('5', new asn1js.Enumerated({ value: f.sgxType })),
  ];
  if (f.platformInstanceId) items.push(entry('6', octets(f.platformInstanceId)));
  if (f.configuration) {
    const c = f.configuration;
    items.push(
      entry(
        '7',
        new asn1js.Sequence({
          value: [
            entry('7.1', new asn1js.Boolean({ value: c.dynamicPlatform })),
            entry('7.2', new asn1js.Boolean({ value: c.cachedKeys })),
            entry('7.3', new asn1js.Boolean({ value: c.smtEnabled })),
          ],
        }),
      ),
    );
  }
  return new Uint8Array(new asn1js.Sequence({ value: items }).toBER(false));
}

const base: SgxExtensionFields = {
  ppid: Uint8Array.from({ length: 16 }, (_, i) => i * 17),
  tcbComponents: [0, 1, 127, 128, 255, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  pceSvn: 13,
  cpuSvn: Uint8Array.from({ length: 16 }, (_, i) => 255 - i),
  pceId: 0x1234,
  fmspc: Uint8Array.from([0, 0x90, 0x6e, 0xa1, 0, 0]),
  sgxType: SGX_TYPE.STANDARD,
};

const cases: Array<[string, SgxExtensionFields]> = [
  ['processor (standard)', base],
  ['PCESVN 0, 255, 256 and 65535', { ...base, pceSvn: 0 }],
  ['PCESVN 255', { ...base, pceSvn: 255 }],
  ['PCESVN 256', { ...base, pceSvn: 256 }],
  ['PCESVN 65535', { ...base, pceSvn: 65535 }],
  [
    'platform (scalable) with instance id and configuration',
    {
      ...base,
      sgxType: SGX_TYPE.SCALABLE,
      platformInstanceId: new Uint8Array(16).fill(0xaa),
      configuration: { dynamicPlatform: true, cachedKeys: false, smtEnabled: true },
    },
  ],
];

for (const [name, f] of cases) {
  test(`encodeSgxExtension ${name}: the bytes asn1js produced`, () => {
    assert.equal(hex(encodeSgxExtension(f)), hex(reference(f)));
  });
}

test('encodeSgxExtension refuses wrong sizes and ranges', () => {
  assert.throws(() => encodeSgxExtension({ ...base, ppid: new Uint8Array(15) }), /ppid/);
  assert.throws(() => encodeSgxExtension({ ...base, tcbComponents: [...base.tcbComponents, 0] }), /16 SVNs/);
  assert.throws(() => encodeSgxExtension({ ...base, pceSvn: 65536 }), /pceSvn/);
  assert.throws(() => encodeSgxExtension({ ...base, sgxType: 3 }), /sgxType/);
});
