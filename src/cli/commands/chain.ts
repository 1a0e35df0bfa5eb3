import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { hex } from '../../bytes/util.ts';
import type { ChainPolicy } from '../../chain/types.ts';
import { enumFlag, EXIT, intFlag, printJson, say, setExit, timeFlag, UsageError } from '../io.ts';

/**
 * The shape `chain build` grows: element i (i ≥ 1) is admitted by element ⌊(i−1)/2⌋ (a binary tree,
 * depth log₂ n), alternately as a local child on its parent's platform and as a remote child on the
 * next platform round-robin, so every cloud takes part and both link types are exercised.
 */
export function register(program: Command): void {
  const chain = program.command('chain').description('build and verify chains of trust');

  chain
    .command('build')
    .description('build a chain over emulated platforms in several simulated clouds, in this process')
    .option('--clouds <n>', 'simulated clouds', '3')
    .option('--platforms-per-cloud <n>', 'emulated platforms per cloud', '2')
    .option('--enclaves <n>', 'enclave elements to append', '20')
    .option('--runtime <kind>', 'inline or isolated', 'inline')
    .requiredOption('--out <file>', 'where to write the proof bundle (v2, streamed as the chain grows)')
    .option(
      '--layers <list>',
      'element kinds: sgx (default), or tdx,sgx for a mixed chain — one TD per cloud, its workloads admitting SGX enclaves across clouds (--enclaves and --platforms-per-cloud do not apply)',
    )
    .option('--workloads-per-td <n>', 'with --layers tdx,sgx: workloads each TD measures and admits', '1')
    .option('--json', 'print one JSON document')
    .action(
      async (opts: {
        clouds: string;
        platformsPerCloud: string;
        enclaves: string;
        runtime: string;
        out: string;
        layers?: string;
        workloadsPerTd: string;
        json?: boolean;
      }) => {
        if (opts.layers !== undefined && parseLayers(opts.layers).includes('tdx')) return buildLayered(opts);
        const { Chain } = await import('../../chain/chain.ts');
        const { CotBuilder } = await import('../../cot/builder.ts');
        const { dcapRemoteVerifier } = await import('../../cot/dcap-remote-verifier.ts');
        const { EmulatedWorld } = await import('../../cot/world.ts');
        const { generateP256 } = await import('../../crypto/ecdsa.ts');
        const { generateVendorKey } = await import('../../crypto/rsa3072.ts');
        const { BundleWriter } = await import('../../chain/write-bundle-v2.ts');
        const { bundleFileSink } = await import('../../cot/bundle-file.ts');
        const clouds = intFlag('clouds', opts.clouds, 1, 26);
        const perCloud = intFlag('platforms-per-cloud', opts.platformsPerCloud, 1, 64);
        const n = intFlag('enclaves', opts.enclaves, 1, 1_000_000);
        const runtime = enumFlag('runtime', opts.runtime, ['inline', 'isolated'] as const);
        const t0 = performance.now();
        const world = await EmulatedWorld.create({ clouds, platformsPerCloud: perCloud, runtime });
        try {
          const collateral = await world.collateralFor();
          void collateral;
          const vendor = generateVendorKey();
          const image = world.elementImage(vendor);
          const policy: ChainPolicy = { identities: [{ mrSigner: hex(image.mrSigner), isvProdId: 1, minIsvSvn: 1 }] };
          await mkdir(dirname(opts.out), { recursive: true });
          const sink = bundleFileSink(opts.out);
          const c = Chain.create({
            stream: new BundleWriter(sink.write),
            name: 'catena chain build',
            root: world.root,
            emulatedRoot: true,
            policy,
            owner: generateP256(),
            remote: dcapRemoteVerifier(world.root),
            now: new Date(),
          });
          const builder = new CotBuilder(c, world, world.root);
          const platforms = world.platforms.length;
          const ids: string[] = [];
          const platformOf: number[] = [];
          const { default: cliProgress } = await import('cli-progress');
          const bar =
            !opts.json && process.stderr.isTTY && n >= 100
              ? new cliProgress.SingleBar(
                  { stream: process.stderr, format: 'building {bar} {value}/{total} elements' },
                  cliProgress.Presets.shades_classic,
                )
              : undefined;
          bar?.start(n, 0);
          let nextRemote = 1;
          for (let i = 0; i < n; i++) {
            let p: number;
            let el;
            if (i === 0) {
              p = 0;
              const h = await world.loadElement(p, image);
              el = await builder.appendFirst(h);
            } else {
              const parent = (i - 1) >> 1;
              const local = i % 2 === 1 || platforms === 1;
              p = local ? platformOf[parent] : (platformOf[parent] + nextRemote++) % platforms;
              if (!local && p === platformOf[parent]) p = (p + 1) % platforms;
              const h = await world.loadElement(p, image);
              el = local ? await builder.appendLocal(ids[parent], h) : await builder.appendRemote(ids[parent], h);
              // The binary tree's parent has admitted both its children: its enclave is no longer needed.
              if (i % 2 === 0) await builder.detach(ids[parent]).destroy();
            }
            ids.push(el.id);
            platformOf.push(p);
            bar?.increment();
          }
          bar?.stop();
          const written = c.finishStream();
          sink.close();
          const rootPath = join(dirname(opts.out), 'root.der');
          await writeFile(rootPath, world.root);
          const out = {
            size: c.size,
            enclaves: n,
            links: c.linkCounts,
            root: rootPath,
            bundle: opts.out,
            bundleBytes: written.bytes,
            bundleHash: written.hash,
            chain: c.id,
            clouds,
            platforms,
            buildMs: Math.round(performance.now() - t0),
          };
          if (opts.json) printJson(out);
          else {
            say(
              false,
              `built chain ${c.id}: ${c.size} elements (${n} enclaves on ${platforms} platforms in ${clouds} clouds), ${out.links.local} local and ${out.links.remote} remote links, in ${out.buildMs} ms`,
            );
            say(false, `bundle: ${opts.out}   root: ${rootPath} (emulated root: trust it explicitly)`);
          }
          await builder.destroyAll();
        } finally {
          await world.close();
        }
      },
    );

  chain
    .command('verify')
    .description('verify a proof bundle offline with only the root certificate and a time')
    .argument('<bundle>', 'proof bundle (v2, or v1 JSON)')
    .requiredOption('--root <cert>', 'the root certificate (DER or PEM) the chain must be anchored at')
    .requiredOption('--at <time>', 'verification time: now, RFC 3339 (2025-07-01T00:00:00Z) or Unix seconds')
    .option(
      '--owner <hex>',
      'the chain owner key (hex X‖Y) to require; without it any owner-signed chain at this root is judged on its own policy',
    )
    .option('--json', 'print one JSON document')
    .action(async (file: string, opts: { root: string; at: string; owner?: string; json?: boolean }) => {
      const { verifyBundle } = await import('../../chain/verify-bundle.ts');
      const { dcapRemoteVerifier } = await import('../../cot/dcap-remote-verifier.ts');
      const { derFromAny } = await import('../../attestation/pem.ts');
      const { verifyBundleV2 } = await import('../../chain/verify-bundle-v2.ts');
      const { isBundleV2 } = await import('../../chain/read-bundle-v2.ts');
      const { LinkCryptoPool } = await import('../../cot/link-crypto-pool.ts');
      const { fileChunks, fileHead } = await import('../../cot/bundle-file.ts');
      const at = timeFlag('at', opts.at);
      let root: Uint8Array;
      try {
        root = derFromAny(new Uint8Array(await readFile(opts.root)), 'CERTIFICATE');
      } catch (e) {
        throw new UsageError(`--root ${opts.root}: ${(e as Error).message}`);
      }
      let head: Uint8Array;
      try {
        head = await fileHead(file, 8);
      } catch (e) {
        throw new UsageError(`${file}: ${(e as Error).message}`);
      }
      const expect = opts.owner ? { expectOwner: opts.owner } : {};
      let v;
      if (isBundleV2(head)) {
        // Streamed: link signatures and quotes checked ahead on every core, decided in order here.
        const pool = new LinkCryptoPool(root);
        try {
          v = await verifyBundleV2(fileChunks(file), {
            root,
            at,
            remote: dcapRemoteVerifier(root),
            prefetch: pool,
            ...expect,
          });
        } finally {
          await pool.close();
        }
      } else {
        const text = await readFile(file, 'utf8');
        // A bundle that is not JSON is evidence that does not parse: verifyBundle rejects it (exit 1).
        let bundle: unknown;
        try {
          bundle = JSON.parse(text);
        } catch {
          bundle = text;
        }
        v = await verifyBundle(bundle, { root, at, remote: dcapRemoteVerifier(root), ...expect });
      }
      const out = {
        valid: v.valid,
        size: v.size,
        links: v.links,
        failures: v.failures,
        // A chain with TDs or workloads: members by kind, and each member's kind and the checks that apply.
        ...(v.kinds ? { kinds: v.kinds, elements: v.elements } : {}),
        emulatedRoot: v.emulatedRoot,
        at: at.toISOString(),
      };
      if (opts.json) printJson(out);
      else {
        say(
          false,
          `${v.valid ? 'VALID' : 'INVALID'}  ${v.size} elements, ${v.links.local} local and ${v.links.remote} remote links verified at ${out.at}`,
        );
        if (v.kinds)
          say(
            false,
            `  kinds: ${Object.entries(v.kinds)
              .map(([k, n]) => `${n} ${k}`)
              .join(', ')}${v.links.measured ? `; ${v.links.measured} measured links` : ''}`,
          );
        if (v.emulatedRoot) say(false, 'note: the chain is anchored at an emulated root, not Intel');
        for (const f of v.failures.slice(0, 20))
          say(false, `  ✗ ${f.link}  ${f.check}${f.code ? ` (${f.code})` : ''}: ${f.message}`);
        if (v.failures.length > 20) say(false, `  … ${v.failures.length - 20} more`);
      }
      setExit(v.valid ? EXIT.OK : EXIT.NEGATIVE);
    });
}

/** The layers of `--layers`: sgx and/or tdx (tdx needs sgx: a TD's workloads admit SGX enclaves). */
export function parseLayers(v: string): ('sgx' | 'tdx')[] {
  const list = v.split(',').map((x) => x.trim().toLowerCase());
  const bad = list.find((x) => x !== 'sgx' && x !== 'tdx');
  if (bad !== undefined || list.length === 0) throw new UsageError(`--layers: ${v} (expected sgx, or tdx,sgx)`);
  if (list.includes('tdx') && !list.includes('sgx'))
    throw new UsageError('--layers tdx: a mixed chain needs sgx too (tdx,sgx): TD workloads admit SGX enclaves');
  return [...new Set(list)] as ('sgx' | 'tdx')[];
}

/** `chain build --layers tdx,sgx`: the mixed chain of buildLayeredChain, written as a proof bundle v2. */
async function buildLayered(opts: {
  clouds: string;
  workloadsPerTd: string;
  enclaves: string;
  out: string;
  json?: boolean;
}) {
  const { openLayeredWorld, buildLayeredChain } = await import('../../cot/layered-chain.ts');
  const { BundleWriter } = await import('../../chain/write-bundle-v2.ts');
  const { bundleFileSink } = await import('../../cot/bundle-file.ts');
  const clouds = intFlag('clouds', opts.clouds, 1, 26);
  const perTd = intFlag('workloads-per-td', opts.workloadsPerTd, 1, 64);
  const t0 = performance.now();
  const lw = await openLayeredWorld(clouds);
  try {
    const kinds: Record<string, number> = {};
    const { chain, builder } = await buildLayeredChain(lw, {
      workloadsPerTd: perTd,
      name: 'catena chain build --layers tdx,sgx',
      onElement: (el) => {
        const k = el.kind === 'enclave' ? 'sgx-enclave' : el.kind;
        kinds[k] = (kinds[k] ?? 0) + 1;
      },
    });
    await mkdir(dirname(opts.out), { recursive: true });
    const sink = bundleFileSink(opts.out);
    const written = chain.writeBundle(new BundleWriter(sink.write));
    sink.close();
    const rootPath = join(dirname(opts.out), 'root.der');
    await writeFile(rootPath, lw.world.root);
    const out = {
      size: chain.size,
      kinds,
      links: chain.linkCounts,
      root: rootPath,
      bundle: opts.out,
      bundleBytes: written.bytes,
      bundleHash: written.hash,
      chain: chain.id,
      clouds,
      buildMs: Math.round(performance.now() - t0),
    };
    if (opts.json) printJson(out);
    else {
      say(
        false,
        `built mixed-layer chain ${chain.id}: ${chain.size} elements (${Object.entries(kinds)
          .map(([k, n]) => `${n} ${k}`)
          .join(
            ', ',
          )}) in ${clouds} clouds; ${out.links.local} local, ${out.links.remote} remote, ${out.links.measured ?? 0} measured links, in ${out.buildMs} ms`,
      );
      say(false, `bundle: ${opts.out}   root: ${rootPath} (emulated root: trust it explicitly)`);
    }
    await builder.destroyAll();
  } finally {
    await lw.close();
  }
}
