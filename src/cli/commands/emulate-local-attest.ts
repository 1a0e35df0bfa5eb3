import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { hex } from '../../bytes/util.ts';
import { CatenaError } from '../../errors.ts';
import type { EnclaveHandle } from '../../sgx/index.ts';
import { enumFlag, EXIT, printJson, say, setExit } from '../io.ts';
import { emulateCommand } from './emulate.ts';

const PEER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'enclaves', 'peer');

/**
 * `catena emulate local-attest`: one emulated platform, two example enclaves (the peer enclave,
 * built twice with different product ids and layouts), the mutual local-attestation handshake
 * relayed by the host, then one protected message each way.
 */
export function register(program: Command): void {
  emulateCommand(program)
    .command('local-attest')
    .description('two enclaves on one emulated platform attest each other and exchange protected messages')
    .option('--runtime <kind>', 'isolated (a worker per enclave) or inline', 'isolated')
    .option('--data <dir>', 'persist the platform under this directory (default: an ephemeral platform)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { runtime: string; data?: string; json?: boolean }) => {
      const { generateVendorKey } = await import('../../crypto/rsa3072.ts');
      const { buildEnclave, Platform } = await import('../../sgx/index.ts');
      const runtime = enumFlag('runtime', opts.runtime, ['isolated', 'inline'] as const);
      const source = readFileSync(join(PEER_DIR, 'peer.js'), 'utf8');
      const vendor = generateVendorKey();
      const platform = await Platform.open(
        opts.data ? { dataDir: opts.data, name: 'local-attest' } : { name: 'local-attest' },
      );
      const handles: EnclaveHandle[] = [];
      try {
        const imgA = buildEnclave(source, { isvProdId: 7, isvSvn: 1 }, vendor);
        const imgB = buildEnclave(source, { isvProdId: 8, isvSvn: 1, heapSize: 128 * 1024 }, vendor);
        const a = await platform.loadEnclave(imgA, { runtime });
        handles.push(a);
        const b = await platform.loadEnclave(imgB, { runtime });
        handles.push(b);
        say(opts.json, `platform ${platform.identity.id} (${runtime} runtime)`);
        say(opts.json, `  A  MRENCLAVE ${hex(imgA.mrEnclave)}  ISVPRODID 7`);
        say(opts.json, `  B  MRENCLAVE ${hex(imgB.mrEnclave)}  ISVPRODID 8`);
        // Each side expects the other's vendor and product: MRSIGNER + ISVPRODID + minimum ISVSVN.
        const signer = hex(imgA.mrSigner);
        const expectB = { mrSigner: signer, isvProdId: 8, minIsvSvn: 1 };
        const expectA = { mrSigner: signer, isvProdId: 7, minIsvSvn: 1 };
        let mutual = false;
        let session = false;
        let error: { code: string; message: string } | undefined;
        try {
          const msg1 = await a.ecall('start', expectB);
          const msg2 = await b.ecall('respond', msg1, expectA);
          const fin = (await a.ecall('finish', msg2)) as { msg3: Uint8Array };
          await b.ecall('accept', fin.msg3);
          mutual = true;
          say(opts.json, '  mutual attestation: A verified B, B verified A');
          const ping = new TextEncoder().encode('ping from A');
          const pong = new TextEncoder().encode('pong from B');
          const gotPing = (await b.ecall('receive', await a.ecall('send', ping))) as Uint8Array;
          const gotPong = (await a.ecall('receive', await b.ecall('send', pong))) as Uint8Array;
          session = Buffer.from(gotPing).equals(Buffer.from(ping)) && Buffer.from(gotPong).equals(Buffer.from(pong));
          say(opts.json, `  session: ${session ? 'one protected message each way, both decrypted' : 'FAILED'}`);
        } catch (e) {
          const c = e as CatenaError;
          error = { code: typeof c.code === 'string' ? c.code : 'ERR_LOCAL_ATTESTATION', message: c.message };
          say(opts.json, `  refused: ${error.code}: ${error.message}`);
        }
        const out = {
          platform: platform.identity.id,
          runtime,
          enclaves: [imgA, imgB].map((i) => ({ mrenclave: hex(i.mrEnclave), mrsigner: hex(i.mrSigner) })),
          mutual,
          session,
          ...(error ? { error } : {}),
        };
        if (opts.json) printJson(out);
        setExit(mutual && session ? EXIT.OK : EXIT.NEGATIVE);
      } finally {
        for (const h of handles) await h.destroy();
        await platform.close();
      }
    });
}
