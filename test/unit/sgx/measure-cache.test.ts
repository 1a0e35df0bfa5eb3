import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sha256 } from '../../../src/crypto/sha256.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import { hex } from '../../../src/bytes/util.ts';
import { buildEnclave } from '../../../src/sgx/build.ts';
import { Platform } from '../../../src/sgx/platform.ts';
import { rejectsWithCode } from './helpers.ts';

// loadEnclave remembers the measurement of an image array; these tests show it never reuses it for other bytes.
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const hello = buildEnclave(
  readFileSync(join(ROOT, 'enclaves', 'hello', 'hello.js'), 'utf8'),
  { isvProdId: 1, isvSvn: 1 },
  generateVendorKey(),
  { date: '20250101' },
);

test('a launch measures the image bytes: repeated launches of one array agree with SHA-256 of the bytes', async () => {
  const p = await Platform.open();
  try {
    const sgxs = hello.sgxs.slice();
    for (let i = 0; i < 3; i++) {
      const e = await p.loadEnclave({ sgxs, sigstruct: hello.sigstruct }, { runtime: 'inline' });
      assert.equal(hex(e.identity.mrEnclave), hex(sha256(sgxs)));
      await e.destroy();
    }
  } finally {
    await p.close();
  }
});

test('an image array altered in place after a launch is measured again (EINIT then refuses its ENCLAVEHASH)', async () => {
  const p = await Platform.open();
  try {
    const sgxs = hello.sgxs.slice();
    const sigstruct = hello.sigstruct.slice();
    const e = await p.loadEnclave({ sgxs, sigstruct }, { runtime: 'inline' });
    await e.destroy();
    sgxs[sgxs.length - 1] ^= 1; // the last measured byte
    await rejectsWithCode(p.loadEnclave({ sgxs, sigstruct }, { runtime: 'inline' }), 'ERR_EINIT_ENCLAVEHASH');
    sgxs[sgxs.length - 1] ^= 1;
    sigstruct[1024] ^= 1; // ISVPRODID, inside the signed bytes: the SIGSTRUCT is re-read, and its signature fails
    await rejectsWithCode(p.loadEnclave({ sgxs, sigstruct }, { runtime: 'inline' }), 'ERR_EINIT_SIGNATURE');
  } finally {
    await p.close();
  }
});
