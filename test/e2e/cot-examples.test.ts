/**
 * The examples docs/cot-api.md is built on, executed as a user would run them (separate processes),
 * so the documentation stays true. Their outputs are checked, and the offline verifier example is
 * shown refusing what it must refuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const node = (script: string, args: string[]) =>
  run(process.execPath, ['--import', 'tsx', script, ...args], { timeout: 120_000 }).then(
    (r) => ({ code: 0, out: JSON.parse(r.stdout.trim().split('\n').pop()!) }),
    (e: { code: number; stdout: string; stderr: string }) => {
      if (!e.stdout?.trim()) throw new Error(`${script} failed (exit ${e.code}): ${e.stderr}`);
      return { code: e.code, out: JSON.parse(e.stdout.trim().split('\n').pop()!) };
    },
  );

test('examples/build-chain.ts then examples/verify-offline.ts: a third party verifies the exported bundle, and refuses it tampered or stale', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'catena-examples-'));
  try {
    const built = await node('examples/build-chain.ts', [dir]);
    assert.equal(built.code, 0);
    assert.equal(built.out.valid, true);
    assert.deepEqual(built.out.links, { local: 3, remote: 2 });
    assert.equal(built.out.afterRevoke.valid, false);
    assert.equal(built.out.afterRevoke.failure.link, built.out.elements.e5);
    assert.equal(built.out.afterRevoke.failure.check, 'revoked');
    assert.equal(built.out.reattested.element, built.out.elements.e3);

    const bundlePath = join(dir, 'bundle.json');
    const rootPath = join(dir, 'root.der');
    const ok = await node('examples/verify-offline.ts', [bundlePath, rootPath]);
    assert.equal(ok.code, 0);
    assert.equal(ok.out.valid, true);
    assert.deepEqual(ok.out.links, { local: 2, remote: 2 }, 'E5 was removed');
    assert.equal(ok.out.emulatedRoot, true);

    // Two hours later the first enclave's evidence (max-age one hour) is stale.
    const later = new Date(Date.now() + 2 * 3600_000).toISOString();
    const stale = await node('examples/verify-offline.ts', [bundlePath, rootPath, later]);
    assert.equal(stale.code, 1);
    assert.equal(stale.out.firstFailure.link, built.out.elements.e1);
    assert.equal(stale.out.firstFailure.check, 'evidence-age');

    // One byte of E4's REPORT changed.
    const bundle = JSON.parse(await readFile(bundlePath, 'utf8'));
    const l4 = bundle.links.find((l: { child: string }) => l.child === built.out.elements.e4);
    l4.evidence.report =
      l4.evidence.report.slice(0, 100) + (l4.evidence.report[100] === '0' ? '1' : '0') + l4.evidence.report.slice(101);
    await writeFile(join(dir, 'tampered.json'), JSON.stringify(bundle));
    const bad = await node('examples/verify-offline.ts', [join(dir, 'tampered.json'), rootPath]);
    assert.equal(bad.code, 1);
    assert.equal(bad.out.firstFailure.link, built.out.elements.e4);
    assert.equal(bad.out.firstFailure.check, 'link-signature');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('examples/attest-and-talk.ts: local attestation, remote attestation, and an RA-TLS channel to a verified chain element', async () => {
  const { code, out } = await node('examples/attest-and-talk.ts', []);
  assert.equal(code, 0);
  assert.equal(out.local.received, 'hello, same platform');
  assert.match(out.local.peerMrEnclave, /^[0-9a-f]{64}$/);
  assert.equal(out.remote.verdict, 'accepted');
  assert.equal(out.remote.tcbStatus, 'UpToDate');
  assert.equal(out.remote.rootIsIntel, false);
  assert.equal(out.channel.chainValid, true);
  assert.equal(out.channel.answeredByElementKey, true);
  assert.equal(out.channel.rootIsIntel, false);
  assert.match(out.channel.reply, /: hello, element$/);
});
