import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { listenUrl } from '../../src/server/net.ts';
import { Manufacturer } from '../../src/sgx/manufacturer/manufacturer.ts';
import { buildPcsServer } from '../../src/sgx/manufacturer/pcs-server.ts';
import { DEFAULT_FMSPC, DEFAULT_PCE_ID, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } from '../../src/sgx/platform.ts';

/**
 * An emulated manufacturer (the default FMSPC) behind its PCS on loopback, saved to DIR/mfr for agents
 * (`catena agent --manufacturer`), its root CA in DIR/root.der. Close `pcs` when done.
 */
export async function startEmulatedPcs(
  dir: string,
  opts: { adminToken?: string } = {},
): Promise<{ pcs: FastifyInstance; pcsUrl: string; manufacturer: Manufacturer; root: Uint8Array }> {
  // The PCS listens first: the manufacturer names its URL in the certificates it issues.
  const made: { m?: Manufacturer } = {};
  const pcs = buildPcsServer({ manufacturer: () => made.m, ...opts });
  const pcsUrl = await listenUrl(pcs, '127.0.0.1', 0);
  const manufacturer = (made.m = await Manufacturer.create({ pcsUrl }));
  manufacturer.ensureFmspc(
    DEFAULT_FMSPC,
    { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN },
    DEFAULT_PCE_ID,
  );
  void manufacturer.enclaveSigningKey; // saved with it: the agents' QEs match the PCS's QE identity
  await manufacturer.save(join(dir, 'mfr'));
  await writeFile(join(dir, 'root.der'), manufacturer.root);
  return { pcs, pcsUrl, manufacturer, root: manufacturer.root };
}
