import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  assembleTdReport,
  macedPart,
  parseTdReport,
  writeTdInfo,
  writeTeeTcbInfo,
  TDREPORT_SIZE,
  type TdInfo,
  type TeeTcbInfo,
} from '../../../src/formats/tdreport.ts';
import { bytes } from './arbitraries.ts';

/**
 * TDREPORT_STRUCT (Intel TDX Module ABI, TDG.MR.REPORT), 1024 bytes. The offsets below are restated from
 * the ABI, independently of the parser and writers:
 *
 *   REPORTMACSTRUCT   0 REPORTTYPE (type 0x81, subtype, version, reserved) | 4 reserved (12) | 16 CPUSVN (16)
 *                    32 TEE_TCB_INFO_HASH (48) | 80 TEE_INFO_HASH (48) | 128 REPORTDATA (64) | 192 reserved (32)
 *                   224 MAC (32)
 *   TEE_TCB_INFO    256 VALID (8) | 264 TEE_TCB_SVN (16) | 280 MRSEAM (48) | 328 MRSIGNERSEAM (48)
 *                   376 ATTRIBUTES (8) | 384 TEE_TCB_SVN2 (16) | 400 reserved (95)
 *                   495 reserved (17)
 *   TDINFO          512 ATTRIBUTES (8) | 520 XFAM (8) | 528 MRTD | 576 MRCONFIGID | 624 MROWNER | 672 MROWNERCONFIG
 *                   720 RTMR0..3 (4 × 48) | 912 SERVTD_HASH (48) | 960 reserved (64)
 */
const code = (c: string) => (e: unknown) => {
  assert.equal((e as { code?: string }).code, c, (e as Error).message);
  return true;
};
const sha384 = (b: Uint8Array) => new Uint8Array(createHash('sha384').update(b).digest());

const teeTcbInfo: fc.Arbitrary<TeeTcbInfo> = fc.record(
  {
    valid: bytes(8),
    teeTcbSvn: bytes(16),
    mrSeam: bytes(48),
    mrSignerSeam: bytes(48),
    attributes: bytes(8),
    teeTcbSvn2: bytes(16),
  },
  { noNullPrototype: true },
);
const tdInfo: fc.Arbitrary<TdInfo> = fc.record(
  {
    attributes: bytes(8),
    xfam: bytes(8),
    mrTd: bytes(48),
    mrConfigId: bytes(48),
    mrOwner: bytes(48),
    mrOwnerConfig: bytes(48),
    rtmr: fc.tuple(bytes(48), bytes(48), bytes(48), bytes(48)),
    servTdHash: bytes(48),
  },
  { noNullPrototype: true },
);

/** A well-formed TDREPORT of the given version from the project's writers. */
function build(t: TeeTcbInfo, d: TdInfo, version: number, cpuSvn: Uint8Array, reportData: Uint8Array, mac: Uint8Array) {
  const tcb = writeTeeTcbInfo(t);
  const info = writeTdInfo(d);
  return assembleTdReport(macedPart(version, cpuSvn, tcb, info, reportData), mac, tcb, info);
}

test('TDREPORT: the writers put every field at its ABI offset, and the parser reads each back from there (property)', () => {
  fc.assert(
    fc.property(
      teeTcbInfo,
      tdInfo,
      fc.constantFrom(0, 1),
      bytes(16),
      bytes(64),
      bytes(32),
      (t, d, version, cpuSvn, reportData, mac) => {
        const b = build(t, d, version, cpuSvn, reportData, mac);
        assert.equal(b.length, TDREPORT_SIZE);
        const at = (off: number, n: number) => b.subarray(off, off + n);
        // REPORTMACSTRUCT, written by macedPart / assembleTdReport.
        assert.deepEqual([...at(0, 4)], [0x81, 0, version, 0]);
        assert.deepEqual(at(4, 12), new Uint8Array(12));
        assert.deepEqual(at(16, 16), cpuSvn);
        assert.deepEqual(at(32, 48), sha384(at(256, 239)), 'TEE_TCB_INFO_HASH = SHA-384(TEE_TCB_INFO)');
        assert.deepEqual(at(80, 48), sha384(at(512, 512)), 'TEE_INFO_HASH = SHA-384(TDINFO)');
        assert.deepEqual(at(128, 64), reportData);
        assert.deepEqual(at(192, 32), new Uint8Array(32));
        assert.deepEqual(at(224, 32), mac);
        // TEE_TCB_INFO, written by writeTeeTcbInfo.
        assert.deepEqual(at(256, 8), t.valid);
        assert.deepEqual(at(264, 16), t.teeTcbSvn);
        assert.deepEqual(at(280, 48), t.mrSeam);
        assert.deepEqual(at(328, 48), t.mrSignerSeam);
        assert.deepEqual(at(376, 8), t.attributes);
        assert.deepEqual(at(384, 16), t.teeTcbSvn2);
        assert.deepEqual(at(400, 112), new Uint8Array(112), 'TEE_TCB_INFO reserved and the 17 reserved bytes after it');
        // TDINFO, written by writeTdInfo.
        assert.deepEqual(at(512, 8), d.attributes);
        assert.deepEqual(at(520, 8), d.xfam);
        assert.deepEqual(at(528, 48), d.mrTd);
        assert.deepEqual(at(576, 48), d.mrConfigId);
        assert.deepEqual(at(624, 48), d.mrOwner);
        assert.deepEqual(at(672, 48), d.mrOwnerConfig);
        for (let i = 0; i < 4; i++) assert.deepEqual(at(720 + 48 * i, 48), d.rtmr[i], `RTMR${i}`);
        assert.deepEqual(at(912, 48), d.servTdHash);
        assert.deepEqual(at(960, 64), new Uint8Array(64));

        const r = parseTdReport(b);
        assert.equal(r.version, version);
        assert.deepEqual(r.cpuSvn, cpuSvn);
        assert.deepEqual(r.teeTcbInfoHash, at(32, 48));
        assert.deepEqual(r.teeInfoHash, at(80, 48));
        assert.deepEqual(r.reportData, reportData);
        assert.deepEqual(r.mac, mac);
        assert.deepEqual(r.teeTcbInfo, t);
        assert.deepEqual(r.tdInfo, d);
        assert.deepEqual(r.macedBytes, at(0, 224));
        assert.deepEqual(r.teeTcbInfoBytes, at(256, 239));
        assert.deepEqual(r.tdInfoBytes, at(512, 512));
      },
    ),
    { numRuns: 20 },
  );
});

function zeroReport(version: number): Uint8Array {
  const z = (n: number) => new Uint8Array(n);
  const d: TdInfo = {
    attributes: z(8),
    xfam: z(8),
    mrTd: z(48),
    mrConfigId: z(48),
    mrOwner: z(48),
    mrOwnerConfig: z(48),
    rtmr: [z(48), z(48), z(48), z(48)],
    servTdHash: z(48),
  };
  const t: TeeTcbInfo = {
    valid: z(8),
    teeTcbSvn: z(16),
    mrSeam: z(48),
    mrSignerSeam: z(48),
    attributes: z(8),
    teeTcbSvn2: z(16),
  };
  return build(t, d, version, z(16), z(64), z(32));
}

test('TDREPORT: REPORTTYPE 0x81 with version 0 (TDX 1.0) or 1 (TDX 1.5) only; any other type or version is ERR_TDREPORT_FORMAT', () => {
  assert.equal(parseTdReport(zeroReport(0)).version, 0);
  assert.equal(parseTdReport(zeroReport(1)).version, 1);
  for (const v of [2, 3, 0xff])
    assert.throws(() => parseTdReport(zeroReport(v)), code('ERR_TDREPORT_FORMAT'), `version ${v}`);
  for (const type of [0x00, 0x80, 0x82, 0x01]) {
    const b = zeroReport(0);
    b[0] = type;
    assert.throws(() => parseTdReport(b), code('ERR_TDREPORT_FORMAT'), `type 0x${type.toString(16)}`);
  }
});

test('TDREPORT: a set reserved byte in TEE_TCB_INFO or in TDINFO is ERR_TDREPORT_FORMAT, each on its own', () => {
  // TEE_TCB_INFO reserved: 400..495; TDINFO reserved: 960..1024.
  for (const off of [400, 450, 494, 960, 1000, 1023]) {
    const b = zeroReport(1);
    b[off] = 1;
    assert.throws(() => parseTdReport(b), code('ERR_TDREPORT_FORMAT'), `byte ${off}`);
  }
  // The last byte of each field before a reserved range is a field, not reserved.
  for (const off of [399, 959]) {
    const b = zeroReport(1);
    b[off] = 0xff;
    assert.doesNotThrow(() => parseTdReport(b), `byte ${off}`);
  }
});

test('TDREPORT: wrong lengths are ERR_SHORT_INPUT (shorter) or ERR_TRAILING_BYTES (longer)', () => {
  for (const n of [0, 1, TDREPORT_SIZE - 1])
    assert.throws(() => parseTdReport(new Uint8Array(n)), code('ERR_SHORT_INPUT'), `${n} bytes`);
  for (const n of [TDREPORT_SIZE + 1, TDREPORT_SIZE * 2])
    assert.throws(() => parseTdReport(new Uint8Array(n)), code('ERR_TRAILING_BYTES'), `${n} bytes`);
});
