import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, hex } from '../../src/bytes/util.ts';
import { rsaModulusLE } from '../../src/crypto/rsa3072.ts';
import {
  mrSignerOf,
  parseSigstruct,
  serializeSigstruct,
  signSigstruct,
  verifySigstruct,
  bcdDate,
} from '../../src/formats/sigstruct.ts';
import { skipWithoutVectors, vector, vectorPath, vectorText } from '../helpers/vectors.ts';

/**
 * Real SIGSTRUCTs from Fortanix rust-sgx (shared vectors, sigstruct/): test_enclave.sig verifies with
 * the README's fields and MRSIGNER; signing the documented sig1 inputs with sig1.key.pem reproduces
 * sig1.sigstruct.bin byte for byte (through the library and through the CLI).
 */
const skip = skipWithoutVectors;
const catena = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [catena, ...args], { encoding: 'utf8', timeout: 60_000 });
const TEST_MRSIGNER = 'fb4bab3d6036ac1d730fa83d7366df1dd2dfeac194ef335d6854d8a6c6475542';
const SIG1_ENCLAVEHASH = 'c50673624a6cb17c1c6c2a4e6906f47a170c4629b8723781d1017ef376f1a75d';
const SIG1_MRSIGNER = '83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e';

test('test_enclave.sig: verifies, fields and MRSIGNER as documented, re-serialises byte for byte', { skip }, () => {
  const raw = vector('sigstruct/test_enclave.sig');
  const s = parseSigstruct(raw);
  assert.deepEqual(verifySigstruct(s), { ok: true, failures: [] });
  assert.equal(hex(mrSignerOf(s)), TEST_MRSIGNER);
  assert.equal(s.vendor, 0);
  assert.equal(s.date, 0x20161214);
  assert.equal(s.isvProdId, 65535);
  assert.equal(s.isvSvn, 0);
  assert.deepEqual(s.attributes, { flags: 0x4n, xfrm: 0x3n });
  assert.equal(s.exponent, 3);
  assert.deepEqual(serializeSigstruct(s), raw);
});

test(
  'test_enclave.sig: a flipped bit at 1024 (ISVPRODID), or in the signature, Q1 or Q2, makes it invalid',
  { skip },
  () => {
    const raw = vector('sigstruct/test_enclave.sig');
    for (const at of [1024, 0x14, 960, 600, 1100, 1600]) {
      const b = raw.slice();
      b[at] ^= 1;
      assert.equal(verifySigstruct(parseSigstruct(b)).ok, false, `byte ${at}`);
    }
  },
);

test('sig1: signing the documented inputs with sig1.key.pem reproduces sig1.sigstruct.bin (library)', { skip }, () => {
  const key = createPrivateKey(vectorText('sigstruct/sig1.key.pem'));
  const out = signSigstruct(
    {
      vendor: 0,
      date: bcdDate('20160109'),
      swDefined: 0,
      miscSelect: 0,
      miscMask: 0xffffffff,
      isvFamilyId: new Uint8Array(16),
      attributes: { flags: 0x4n, xfrm: 0x3n },
      attributeMask: { flags: 0xfffffffffffffffdn, xfrm: 0xffffffffffffff1bn },
      enclaveHash: fromHex(SIG1_ENCLAVEHASH),
      isvExtProdId: new Uint8Array(16),
      isvProdId: 0,
      isvSvn: 0,
    },
    key,
  );
  assert.deepEqual(out, vector('sigstruct/sig1.sigstruct.bin'));
  assert.equal(hex(mrSignerOf(parseSigstruct(out))), SIG1_MRSIGNER);
  assert.deepEqual(parseSigstruct(out).modulus, rsaModulusLE(key));
});

test(
  'catena sigstruct show: JSON fields for test_enclave.sig; exit 1 with failures when tampered or truncated',
  { skip },
  () => {
    const ok = run('sigstruct', 'show', vectorPath('sigstruct/test_enclave.sig'), '--json');
    assert.equal(ok.status, 0, ok.stderr);
    const d = JSON.parse(ok.stdout);
    assert.deepEqual(
      { ...d },
      {
        ...d,
        valid: true,
        mrsigner: TEST_MRSIGNER,
        enclaveHash: '784acfd7d5096a8f0fbd3265760bff21b120f62407a9a9e5ba31aa3c8ed198fc',
        isvProdId: 65535,
        isvSvn: 0,
        vendor: 0,
        date: '20161214',
        debug: false,
        attributes: '04000000000000000300000000000000',
        attributeMask: 'fdffffffffffffff1bffffffffffffff',
        miscSelect: '00000000',
        miscMask: 'ffffffff',
      },
    );
    assert.equal('failures' in d, false);
    const dir = mkdtempSync(join(tmpdir(), 'catena-sigstruct-'));
    try {
      const b = vector('sigstruct/test_enclave.sig').slice();
      b[1024] ^= 1;
      writeFileSync(join(dir, 'bad.sig'), b);
      const bad = run('sigstruct', 'show', join(dir, 'bad.sig'), '--json');
      assert.equal(bad.status, 1);
      const bd = JSON.parse(bad.stdout);
      assert.equal(bd.valid, false);
      assert.equal(bd.isvProdId, 65534);
      assert.ok(bd.failures.some((f: string) => f.startsWith('signature')));
      writeFileSync(join(dir, 'cut.sig'), vector('sigstruct/test_enclave.sig').subarray(0, 1000));
      // A SIGSTRUCT that does not parse is a negative verdict with its reason (docs/cli.md), not a usage error.
      const cut = run('sigstruct', 'show', join(dir, 'cut.sig'), '--json');
      assert.equal(cut.status, 1);
      const cd = JSON.parse(cut.stdout);
      assert.equal(cd.valid, false);
      assert.match(cd.failures.join(' '), /1808 bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'catena sigstruct sign reproduces sig1.sigstruct.bin (explicit flags, then defaults), and --debug / --sgxs work',
  { skip },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'catena-sigstruct-'));
    const key = vectorPath('sigstruct/sig1.key.pem');
    const expected = vector('sigstruct/sig1.sigstruct.bin');
    try {
      const explicit = run(
        'sigstruct',
        'sign',
        '--key',
        key,
        '--enclave-hash',
        SIG1_ENCLAVEHASH,
        '--isv-prod-id',
        '0',
        '--isv-svn',
        '0',
        '--date',
        '20160109',
        '--vendor',
        '0',
        '--attributes',
        '04000000000000000300000000000000',
        '--attribute-mask',
        'fdffffffffffffff1bffffffffffffff',
        '--misc-select',
        '00000000',
        '--misc-mask',
        'ffffffff',
        '--out',
        join(dir, 'a.bin'),
        '--json',
      );
      assert.equal(explicit.status, 0, explicit.stderr);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'a.bin'))), expected);
      assert.equal(JSON.parse(explicit.stdout).mrsigner, SIG1_MRSIGNER);

      const defaults = run(
        'sigstruct',
        'sign',
        '--key',
        key,
        '--enclave-hash',
        SIG1_ENCLAVEHASH,
        '--isv-prod-id',
        '0',
        '--isv-svn',
        '0',
        '--date',
        '20160109',
        '--out',
        join(dir, 'b.bin'),
      );
      assert.equal(defaults.status, 0, defaults.stderr);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'b.bin'))), expected);

      const debug = run(
        'sigstruct',
        'sign',
        '--key',
        key,
        '--sgxs',
        vectorPath('sigstruct/test_enclave.sgxs'),
        '--isv-prod-id',
        '65535',
        '--isv-svn',
        '0',
        '--date',
        '20161214',
        '--debug',
        '--out',
        join(dir, 'd.bin'),
        '--json',
      );
      assert.equal(debug.status, 0, debug.stderr);
      const shown = JSON.parse(run('sigstruct', 'show', join(dir, 'd.bin'), '--json').stdout);
      assert.equal(shown.valid, true);
      assert.equal(shown.debug, true);
      assert.equal(shown.attributes, '06000000000000000300000000000000');
      assert.equal(shown.attributeMask, 'fdffffffffffffff1bffffffffffffff');
      assert.equal(shown.enclaveHash, '784acfd7d5096a8f0fbd3265760bff21b120f62407a9a9e5ba31aa3c8ed198fc');

      for (const bad of [
        ['--date', '20161332'],
        ['--enclave-hash', 'abcd'],
        ['--attributes', 'zz'],
        ['--vendor', '5'],
      ]) {
        const args = [
          'sigstruct',
          'sign',
          '--key',
          key,
          '--isv-prod-id',
          '0',
          '--isv-svn',
          '0',
          '--date',
          '20160109',
          '--out',
          join(dir, 'x.bin'),
        ];
        if (bad[0] !== '--enclave-hash') args.push('--enclave-hash', SIG1_ENCLAVEHASH);
        const r = run(...args, ...bad);
        assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
      }
      const both = run(
        'sigstruct',
        'sign',
        '--key',
        key,
        '--sgxs',
        vectorPath('sigstruct/test_enclave.sgxs'),
        '--enclave-hash',
        SIG1_ENCLAVEHASH,
        '--isv-prod-id',
        '0',
        '--isv-svn',
        '0',
        '--date',
        '20160109',
        '--out',
        join(dir, 'x.bin'),
      );
      assert.equal(both.status, 2);
      const noKey = run(
        'sigstruct',
        'sign',
        '--enclave-hash',
        SIG1_ENCLAVEHASH,
        '--isv-prod-id',
        '0',
        '--isv-svn',
        '0',
        '--date',
        '20160109',
        '--out',
        join(dir, 'x.bin'),
      );
      assert.equal(noKey.status, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
