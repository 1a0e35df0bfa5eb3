import { test } from 'node:test';
import { stopChild } from '../../src/cli/stop-child.ts';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hex } from '../../src/bytes/util.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { buildAgentEnclaveImage } from '../../src/server/agent-enclave.ts';
import { startEmulatedPcs } from '../helpers/emulated-pcs.ts';

const BIN = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));

/** Starts the CLI; resolves with its first JSON document on stdout, or rejects when it exits first. */
function start(args: string[], children: ChildProcess[]): Promise<Record<string, any>> {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CATENA_AGENT_TOKEN: '' },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no JSON within 90 s: ${err.slice(-500)}`)), 90_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const j = JSON.parse(out);
        // With --json a failure is one {"error":{code,message}} document on stdout, then a non-zero exit.
        if (j && typeof j === 'object' && 'error' in j) {
          err += `\n${out}`;
          return;
        }
        clearTimeout(timer);
        resolve(j);
      } catch {
        /* not complete yet */
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`exited ${code}: ${err.slice(-800)}`), { code, stderr: err }));
    });
  });
}

const stop = (c: ChildProcess) => stopChild(c, 5000);

test(
  'catena manager --agent-listen + catena agent: the vendor agent registers by RA-TLS without a token; another vendor agent is refused',
  { timeout: 180_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'catena-e2e-agent-'));
    const children: ChildProcess[] = [];
    const { pcs, pcsUrl } = await startEmulatedPcs(dir);
    try {
      const vendor = generateVendorKey();
      const stranger = generateVendorKey();
      await writeFile(join(dir, 'vendor.pem'), vendor.export({ format: 'pem', type: 'pkcs8' }) as string, {
        mode: 0o600,
      });
      await writeFile(join(dir, 'stranger.pem'), stranger.export({ format: 'pem', type: 'pkcs8' }) as string, {
        mode: 0o600,
      });
      const mrSigner = hex(buildAgentEnclaveImage(vendor).mrSigner);

      const m = await start(
        [
          'manager',
          '--data',
          join(dir, 'm'),
          '--listen',
          '127.0.0.1:0',
          '--agent-listen',
          '127.0.0.1:0',
          '--agent-mrsigner',
          mrSigner,
          '--trust-root',
          join(dir, 'root.der'),
          '--pcs',
          pcsUrl,
          '--agent-check',
          '0',
          '--json',
        ],
        children,
      );
      assert.match(m.agentListener.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const agentArgs = (cloud: string, key: string) => [
        'agent',
        '--manager',
        m.agentListener.url,
        '--manager-cert',
        m.agentListener.certificate,
        '--cloud',
        cloud,
        '--platforms',
        '1',
        '--manufacturer',
        join(dir, 'mfr'),
        '--vendor-key',
        join(dir, key),
        '--trust-root',
        join(dir, 'root.der'),
        '--collateral',
        pcsUrl,
        '--json',
      ];
      const a = await start(agentArgs('cloud-a', 'vendor.pem'), children);
      assert.equal(a.registeredBy, 'ra-tls');
      assert.equal(a.peers, 'ra-tls');
      assert.equal(a.enclave.mrSigner, mrSigner);
      assert.match(a.url, /^https:\/\/127\.0\.0\.1:\d+$/);

      const refused = await start(agentArgs('cloud-x', 'stranger.pem'), children).then(
        () => assert.fail('an agent enclave of another vendor registered'),
        (e: { code?: number; stderr?: string }) => e,
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr ?? '', /ERR_PEER_REFUSED/);
      assert.match(refused.stderr ?? '', /MRSIGNER/);
    } finally {
      await Promise.all(children.map(stop));
      await pcs.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
