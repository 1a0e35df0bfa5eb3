import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hex } from '../../src/bytes/util.ts';
import { sha256 } from '../../src/crypto/sha256.ts';
import { CatenaError } from '../../src/errors.ts';
import { parseSgxs, serializeSgxs } from '../../src/formats/sgxs.ts';
import { Measurement, measureSgxs } from '../../src/sgx/measure.ts';
import { skipWithoutVectors, vector, vectorPath } from '../helpers/vectors.ts';

/**
 * The Fortanix test enclave (shared vectors, sigstruct/test_enclave.sgxs): a real SGXS stream whose
 * MRENCLAVE is known from its SIGSTRUCT. README: 1 ECREATE (ssaframesize 1, size 0x40000),
 * 9 EADD (5 RW REG, 2 R REG, 1 RX REG, 1 TCS), 144 EEXTEND.
 */
const MRENCLAVE = '784acfd7d5096a8f0fbd3265760bff21b120f62407a9a9e5ba31aa3c8ed198fc';
const skip = skipWithoutVectors;
const catena = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [catena, ...args], { encoding: 'utf8', timeout: 60_000 });

test(
  'test_enclave.sgxs measures to its known MRENCLAVE, = SHA-256 of the file, = ENCLAVEHASH of test_enclave.sig',
  { skip },
  () => {
    const sgxs = vector('sigstruct/test_enclave.sgxs');
    assert.equal(hex(measureSgxs(sgxs)), MRENCLAVE);
    assert.equal(hex(sha256(sgxs)), MRENCLAVE);
    assert.equal(hex(vector('sigstruct/test_enclave.sig').subarray(960, 992)), MRENCLAVE);
  },
);

test('test_enclave.sgxs records are what the README says, and re-serialise byte for byte', { skip }, () => {
  const sgxs = vector('sigstruct/test_enclave.sgxs');
  const recs = parseSgxs(sgxs);
  const count = (t: string) => recs.filter((r) => r.tag === t).length;
  assert.deepEqual([count('ECREATE'), count('EADD'), count('EEXTEND'), recs.length], [1, 9, 144, 154]);
  assert.deepEqual(recs[0], { tag: 'ECREATE', ssaFrameSize: 1, size: 0x40000n });
  const flags = recs.flatMap((r) => (r.tag === 'EADD' ? [r.secinfoFlags] : []));
  assert.deepEqual(
    [
      flags.filter((f) => f === 0x203n).length,
      flags.filter((f) => f === 0x201n).length,
      flags.filter((f) => f === 0x205n).length,
      flags.filter((f) => f === 0x100n).length,
    ],
    [5, 2, 1, 1],
  );
  assert.deepEqual(serializeSgxs(recs), sgxs);
});

test('replaying test_enclave.sgxs page by page through Measurement.addPage gives the same MRENCLAVE', { skip }, () => {
  const recs = parseSgxs(vector('sigstruct/test_enclave.sgxs'));
  const m = new Measurement();
  const pages = new Map<bigint, { flags: bigint; data: Uint8Array }>();
  for (const r of recs) {
    if (r.tag === 'ECREATE') m.ecreate(r.ssaFrameSize, r.size);
    else if (r.tag === 'EADD') pages.set(r.offset, { flags: r.secinfoFlags, data: new Uint8Array(4096) });
    else if (r.tag === 'EEXTEND') pages.get(r.offset & ~0xfffn)!.data.set(r.data, Number(r.offset & 0xfffn));
  }
  // Every page of this enclave is fully measured, in offset order, so addPage reproduces the stream.
  for (const [offset, p] of pages) m.addPage(offset, p.flags, p.data);
  assert.equal(hex(m.finish()), MRENCLAVE);
});

test('any single flipped bit in test_enclave.sgxs changes MRENCLAVE or is refused', { skip }, () => {
  const sgxs = vector('sigstruct/test_enclave.sgxs');
  for (const at of [9, 12, 64 + 8, 64 + 16, 200, 46719]) {
    const b = sgxs.slice();
    b[at] ^= 1;
    try {
      assert.notEqual(hex(measureSgxs(b)), MRENCLAVE, `byte ${at}`);
    } catch (e) {
      assert.ok(e instanceof CatenaError, `byte ${at}: ${String(e)}`);
    }
  }
});

test(
  'catena measure: JSON MRENCLAVE; a truncated stream exits 1, a missing file 2, each with a message',
  { skip },
  () => {
    const ok = run('measure', vectorPath('sigstruct/test_enclave.sgxs'), '--json');
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { mrenclave: MRENCLAVE });
    const dir = mkdtempSync(join(tmpdir(), 'catena-measure-'));
    try {
      const cut = join(dir, 'cut.sgxs');
      writeFileSync(cut, vector('sigstruct/test_enclave.sgxs').subarray(0, 46720 - 100));
      // Read but not a valid stream: exit 1, and with --json the error is one JSON document on stdout (docs/cli.md).
      const bad = run('measure', cut, '--json');
      assert.equal(bad.status, 1);
      const err = JSON.parse(bad.stdout) as { error: { code: string; message: string } };
      assert.equal(err.error.code, 'ERR_INVALID_INPUT');
      assert.match(err.error.message, /too short|truncated/);
      const missing = run('measure', join(dir, 'nope.sgxs'));
      assert.equal(missing.status, 2);
      assert.match(missing.stderr, /cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
