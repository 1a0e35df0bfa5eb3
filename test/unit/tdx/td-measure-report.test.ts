import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { measureMrtd } from '../../../src/tdx/mrtd.ts';
import { buildTdImage } from '../../../src/tdx/td-image.ts';
import { parseTdReport, TDREPORT_SIZE } from '../../../src/formats/tdreport.ts';
import { checkTdReport } from '../../../src/tdx/td-quote-builder.ts';
import { TD_EVIDENCE_VARIANTS } from '../../../src/tdx/td-variants.ts';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

test('MRTD: SHA-384 over 128-byte MEM.PAGE.ADD blocks and MR.EXTEND blocks each followed by its 256-byte chunk', () => {
  const image = buildTdImage({ firmwarePages: 2 });
  // Independent: the whole stream built as one buffer, hashed once.
  const parts: Buffer[] = [];
  const blk = (tag: string, gpa: bigint) => {
    const b = Buffer.alloc(128);
    b.write(tag, 0, 'latin1');
    b.writeBigUInt64LE(gpa, 16);
    return b;
  };
  for (const p of image.pages) {
    parts.push(blk('MEM.PAGE.ADD', p.gpa));
    if (p.extend)
      for (let o = 0; o < 4096; o += 256)
        parts.push(blk('MR.EXTEND', p.gpa + BigInt(o)), Buffer.from(p.data.subarray(o, o + 256)));
  }
  const want = createHash('sha384').update(Buffer.concat(parts)).digest();
  assert.deepEqual(Buffer.from(measureMrtd(image)), want);
  // Unmeasured pages count by address only; measured content counts.
  const other = buildTdImage({ firmwarePages: 2 });
  other.pages[2].data[0] ^= 1;
  assert.deepEqual(measureMrtd(other), measureMrtd(image));
  other.pages[0].data[4095] ^= 1;
  assert.notDeepEqual(measureMrtd(other), measureMrtd(image));
});

test('TDREPORT: wrong length, unknown REPORTTYPE and a bad MAC are typed errors', () => {
  assert.equal(
    code(() => parseTdReport(new Uint8Array(TDREPORT_SIZE - 1))),
    'ERR_SHORT_INPUT',
  );
  assert.equal(
    code(() => parseTdReport(new Uint8Array(TDREPORT_SIZE + 1))),
    'ERR_TRAILING_BYTES',
  );
  assert.equal(
    code(() => parseTdReport(new Uint8Array(TDREPORT_SIZE))),
    'ERR_TDREPORT_FORMAT',
  );
  const r = new Uint8Array(TDREPORT_SIZE);
  r[0] = 0x81;
  assert.equal(
    code(() => checkTdReport(r, new Uint8Array(16))),
    'ERR_TDREPORT_MAC',
  );
});

test('the TD variants name their checks and codes', () => {
  const by = Object.fromEntries(TD_EVIDENCE_VARIANTS.map((v) => [v.name, [v.check, v.code]]));
  assert.deepEqual(by['rtmr-event-log-mismatch'], ['td.eventLog', 'ERR_EVENT_LOG_MISMATCH']);
  assert.deepEqual(by['wrong-mrtd'], ['policy.td.mrTd', 'ERR_TD_POLICY']);
  assert.deepEqual(by['service-td-bound'], ['policy.serviceTd', 'ERR_SERVICE_TD']);
  assert.deepEqual(by['tdx-module-mismatch'], ['tdx.module', 'ERR_TDX_MODULE']);
});
