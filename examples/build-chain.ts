/**
 * Example: build a chain of trust across two emulated clouds, verify it, revoke, re-attest, and export
 * the proof bundle a third party verifies offline (examples/verify-offline.ts).
 *
 *   node --import tsx examples/build-chain.ts OUT_DIR
 *
 * Writes OUT_DIR/bundle.json and OUT_DIR/root.der; prints one JSON summary on stdout.
 * Documented in docs/cot-api.md; executed by test/e2e/cot-examples.test.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Chain, CotBuilder, dcapRemoteVerifier, EmulatedWorld, type ChainPolicy } from 'catena/cot';
import { generateP256, generateVendorKey } from 'catena/crypto';

const outDir = process.argv[2] ?? 'out/example-chain';

// 1. Emulated SGX: one manufacturer (root CA, PCK CAs, TCB info, QE identity, CRLs) and two clouds of
//    one platform each, every platform with its own QE/PCE. The root is emulated: trust it explicitly.
const world = await EmulatedWorld.create({ clouds: 2, platformsPerCloud: 1 });
try {
  await world.collateralFor(); // builds the collateral remote links are verified with (once per world)

  // 2. The enclave every element runs: measured and signed by our vendor key (→ MRSIGNER).
  const vendor = generateVendorKey();
  const image = world.elementImage(vendor); // ISVPRODID 1, ISVSVN 1, not DEBUG

  // 3. A chain: anchored at the root, owned by a key that signs the header, the policy, the first
  //    link and revocations. The policy admits only our vendor's product 1 from SVN 1, UpToDate TCB,
  //    no DEBUG, evidence at most one hour old.
  const policy: ChainPolicy = {
    identities: [{ mrSigner: Buffer.from(image.mrSigner).toString('hex'), isvProdId: 1, minIsvSvn: 1 }],
    evidenceMaxAgeSeconds: 3600,
  };
  const owner = generateP256();
  const chain = Chain.create({
    name: 'example',
    root: world.root,
    emulatedRoot: true,
    policy,
    owner,
    remote: dcapRemoteVerifier(world.root),
    now: new Date(),
  });
  const builder = new CotBuilder(chain, world, world.root);

  // 4. Append: the first enclave (remote: the owner checks its DCAP quote), then local children on the
  //    same platform (REPORT checked by the parent enclave) and remote children on the other cloud
  //    (quote checked by the parent enclave). Each link is signed by the parent's element key.
  const e1 = await builder.appendFirst(await world.loadElement(0, image)); //        cloud-a
  const e2 = await builder.appendLocal(e1.id, await world.loadElement(0, image)); // cloud-a, local
  const e3 = await builder.appendRemote(e2.id, await world.loadElement(1, image)); // cloud-b, remote
  const e4 = await builder.appendLocal(e3.id, await world.loadElement(1, image)); // cloud-b, local
  const e5 = await builder.appendLocal(e1.id, await world.loadElement(0, image)); // cloud-a, local

  // 5. Verify at a time: every link, signature, binding, age and policy, exactly as offline.
  const valid = await chain.verify(new Date());

  // 6. Revoke E5 (a leaf here; a revoked element invalidates its whole subtree), then remove it.
  chain.revoke(e5.id, 'decommissioned', new Date());
  const afterRevoke = await chain.verify(new Date());
  chain.removeLeaf(e5.id);

  // 7. Re-attest E3: its parent challenges it again; the fresh link replaces the stale one.
  const fresh = await builder.reattest(e3.id);

  // 8. Export the proof bundle and the root certificate: that is all a third party needs (plus a time).
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'bundle.json'), JSON.stringify(chain.toBundle(), null, 1));
  await writeFile(join(outDir, 'root.der'), world.root);

  console.log(
    JSON.stringify({
      chain: chain.id,
      elements: { e1: e1.id, e2: e2.id, e3: e3.id, e4: e4.id, e5: e5.id },
      valid: valid.valid,
      links: valid.links,
      afterRevoke: { valid: afterRevoke.valid, failure: afterRevoke.failures[0] },
      reattested: { element: fresh.child, at: fresh.at },
      size: chain.size,
      bundle: join(outDir, 'bundle.json'),
      root: join(outDir, 'root.der'),
    }),
  );
} finally {
  await world.close();
}
