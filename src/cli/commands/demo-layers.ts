import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ChainVerification, Link, ProofBundle } from '../../chain/types.ts';
import type { Store } from '../../store/types.ts';
import { EXIT, printJson, setExit } from '../io.ts';

/**
 * `catena demo --layers`: the three-cloud demo across layers (issue 16). One TDX host per cloud runs a TD
 * whose measured-boot log names its workloads (container images, RTMR3); each workload admits SGX
 * enclaves on the next cloud by remote attestation, the first of which admits that cloud's TD — so the
 * chain goes RoT → platform → TD-QE → TD (cloud A) → workload → SGX enclave (cloud B) → TD (cloud B) → …
 * Every link is signed by its parent (TD, workload or enclave) in this process and sent to a manager on
 * loopback, which checks each one as it appends it; the manager's verification reports each element's
 * kind, and its proof bundle verifies offline with the root and a time.
 */
export async function runLayersDemo(o: { clouds: number; json?: boolean; workloadsPerTd?: number }): Promise<void> {
  const { hex } = await import('../../bytes/util.ts');
  const { openLayeredWorld, buildLayeredChain, layeredPolicy, workloadsOf } =
    await import('../../cot/layered-chain.ts');
  const { generateVendorKey } = await import('../../crypto/rsa3072.ts');
  const { openStore } = await import('../../store/open-store.ts');
  const { buildManager } = await import('../../server/manager.ts');
  const { loadOrCreateManagerKey } = await import('../../server/manager-key.ts');
  const { listenUrl } = await import('../../server/net.ts');
  const { createToken } = await import('../../server/tokens.ts');
  const { callJson } = await import('../../server/http-json.ts');
  const { verifyBundle } = await import('../../chain/verify-bundle.ts');
  const { createDcapRemoteVerifier } = await import('../../cot/dcap-remote-verifier.ts');
  const t0 = performance.now();
  const progress = (msg: string) =>
    process.stderr.write(`[demo --layers ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);
  const tmp = await mkdtemp(join(tmpdir(), 'catena-demo-layers-'));
  let store: Store | undefined;
  let manager: FastifyInstance | undefined;
  const lw = await openLayeredWorld(o.clouds);
  try {
    const clouds = lw.world.platforms.map((p) => p.cloud);
    progress(
      `emulated manufacturer; ${o.clouds} clouds (${clouds.join(', ')}), each with an SGX platform and a TDX host (TDX module, TD QE)`,
    );
    store = await openStore(join(tmp, 'catena.db'));
    manager = await buildManager({ store, key: await loadOrCreateManagerKey(join(tmp, 'manager-key.pem')) });
    const managerUrl = await listenUrl(manager, '127.0.0.1', 0);
    const { token } = await createToken(store, 'admin', 'demo --layers');
    progress(`manager on ${managerUrl}`);

    const perTd = o.workloadsPerTd ?? 1;
    const vendor = generateVendorKey();
    const mrSigner = hex(lw.world.elementImage(vendor).mrSigner);
    const images = Array.from({ length: o.clouds }, (_, c) => workloadsOf(c, perTd)).flat();
    const policy = layeredPolicy(mrSigner, images);
    const created = await callJson<{ id: string }>(`${managerUrl}/v1/chains`, {
      token,
      body: { name: 'demo --layers', root: hex(lw.world.root), emulatedRoot: true, policy },
    });
    const { nonce } = await callJson<{ nonce: string }>(`${managerUrl}/v1/chains/${created.id}/challenge`, {
      token,
      method: 'POST',
    });
    progress(`chain ${created.id}: policy per kind (SGX signer; TD MRTD, RTMR0..2, no DEBUG; workload images)`);
    const sent = { local: 0, remote: 0, measured: 0 };
    const { builder } = await buildLayeredChain(lw, {
      vendor,
      workloadsPerTd: perTd,
      chainId: created.id,
      firstNonce: nonce,
      onCommit: async (link: Link, collateral, cloud) => {
        await callJson(`${managerUrl}/v1/chains/${created.id}/elements`, {
          token,
          body: { link, ...(collateral ? { collateral } : {}), ...(cloud ? { cloud } : {}) },
        });
        sent[link.type]++;
        const kind = 'kind' in link.childIdentity ? link.childIdentity.kind : 'sgx-enclave';
        progress(
          `  ${link.type.padEnd(8)} ${kind.padEnd(11)} ${link.child} (${cloud ?? '?'}) ← ${link.parent ?? 'owner'}`,
        );
      },
    });
    await builder.destroyAll();
    const v = await callJson<ChainVerification & { kinds?: Record<string, number> }>(
      `${managerUrl}/v1/chains/${created.id}/verify`,
      { token },
    );
    const proof = await callJson<ProofBundle>(`${managerUrl}/v1/chains/${created.id}/proof`, { token });
    const offline = await verifyBundle(proof, {
      root: lw.world.root,
      at: new Date(),
      remote: createDcapRemoteVerifier(lw.world.root),
    });
    const out = {
      layers: ['tdx', 'sgx'],
      clouds: o.clouds,
      elements: v.size,
      kinds: v.kinds ?? {},
      links: v.links,
      valid: v.valid && offline.valid,
      manager: { valid: v.valid, failures: v.failures },
      offline: { valid: offline.valid, failures: offline.failures },
      chain: created.id,
      managerUrl,
      ms: Math.round(performance.now() - t0),
    };
    if (o.json) printJson(out);
    else {
      process.stdout.write(
        `${out.valid ? 'VALID' : 'INVALID'}  chain ${created.id}: ${v.size} elements (${Object.entries(out.kinds)
          .map(([k, n]) => `${n} ${k}`)
          .join(
            ', ',
          )}) across ${o.clouds} clouds; ${v.links.local} local, ${v.links.remote} remote, ${v.links.measured ?? 0} measured links\n`,
      );
      process.stdout.write(
        `  manager verification: ${v.valid ? 'valid' : 'INVALID'}; proof bundle offline (root + time): ${offline.valid ? 'valid' : 'INVALID'}\n`,
      );
      for (const f of [...v.failures, ...offline.failures].slice(0, 10))
        process.stdout.write(`  ✗ ${f.link} ${f.check}: ${f.message}\n`);
    }
    setExit(out.valid ? EXIT.OK : EXIT.NEGATIVE);
    void sent;
  } finally {
    await manager?.close().catch(() => {});
    await store?.close().catch(() => {});
    await lw.close();
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}
