import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild } from '../stop-child.ts';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { isEnclaveIdentity } from '../../chain/layers.ts';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../bytes/util.ts';
import type { ChainVerification, Element, ProofBundle } from '../../chain/types.ts';
import type { Manufacturer } from '../../sgx/manufacturer/manufacturer.ts';
import type { Store } from '../../store/types.ts';
import type { AgentTlsListener } from '../../server/agent-listener.ts';
import type { Placed } from '../../server/cot-driver.ts';
import { enumFlag, EXIT, intFlag, printJson, setExit, UsageError } from '../io.ts';
import { SCENARIOS, type Placement, type Scenario } from './demo-scenario.ts';
import { onStopSignal, SIGNAL_EXIT, untilStopSignal, type StopSignal } from '../signals.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/catena.js');
const CLOUDS = ['cloud-a', 'cloud-b', 'cloud-c', 'cloud-d', 'cloud-e', 'cloud-f'];

interface AgentProc {
  cloud: string;
  url: string;
  id: string;
  child: ChildProcess;
}

/** Starts `catena agent` as a child process; resolves once it printed its JSON line (registered). */
function startAgent(
  cloud: string,
  platforms: number,
  env: {
    manager: string;
    managerCert: string;
    manufacturer: string;
    vendorKey: string;
    trustRoot: string;
    collateral: string;
  },
  timeoutMs: number,
): { child: ChildProcess; ready: Promise<AgentProc> } {
  const child = spawn(
    process.execPath,
    // Registers by RA-TLS on the manager's agent listener (no token); peers judged under the emulated root, explicitly.
    [
      BIN,
      'agent',
      '--manager',
      env.manager,
      '--manager-cert',
      env.managerCert,
      '--cloud',
      cloud,
      '--platforms',
      String(platforms),
      '--manufacturer',
      env.manufacturer,
      '--vendor-key',
      env.vendorKey,
      '--trust-root',
      env.trustRoot,
      '--collateral',
      env.collateral,
      '--json',
    ],
    // The agent exits when its stdin closes: it cannot outlive a demo that was killed outright.
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, CATENA_AGENT_TOKEN: '', CATENA_EXIT_WITH_STDIN: '1', CATENA_EXIT_WITH_PARENT: '1' },
    },
  );
  const ready = new Promise<AgentProc>((resolveReady, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`agent ${cloud} did not start within ${timeoutMs} ms: ${err.slice(-300)}`)),
      timeoutMs,
    );
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const j = JSON.parse(out) as { url: string; id: string };
        clearTimeout(timer);
        resolveReady({ cloud, url: j.url, id: j.id, child });
      } catch {
        /* not complete yet */
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`agent ${cloud} exited (${code ?? sig}) before it was ready: ${err.slice(-300)}`));
    });
  });
  ready.catch(() => {});
  return { child, ready };
}

const short = (h: string | undefined, n = 12) => (h ? h.slice(0, n) : '-');

/** The chain drawn as a text tree, children under their parent. */
function drawTree(bundle: ProofBundle, v: ChainVerification, statuses: Record<string, string>): string[] {
  const byParent = new Map<string | null, Element[]>();
  const linkOf = new Map(bundle.links.map((l) => [l.child, l]));
  for (const e of bundle.elements) {
    if (e.kind !== 'enclave') continue;
    const list = byParent.get(e.parent) ?? [];
    list.push(e);
    byParent.set(e.parent, list);
  }
  const lines: string[] = [];
  const walk = (parent: string | null, prefix: string) => {
    const kids = byParent.get(parent) ?? [];
    kids.forEach((e, i) => {
      const last = i === kids.length - 1;
      const l = linkOf.get(e.id);
      const ok = v.elements[e.id]?.valid ? 'ok' : `INVALID (${v.elements[e.id]?.cause ?? '?'})`;
      const status = statuses[e.id] ? ` ${statuses[e.id]}` : '';
      const tcb = l?.appraisal.tcbStatus ?? (l?.type === 'local' ? 'REPORT MAC' : '-');
      lines.push(
        `${prefix}${last ? '└─' : '├─'} ${e.id}  ${(l?.type ?? '?').padEnd(6)} ${(e.cloud ?? '?').padEnd(8)} platform ${short(e.platform, 8)}  ${tcb.padEnd(10)} ${ok}${status}`,
      );
      walk(e.id, prefix + (last ? '   ' : '│  '));
    });
  };
  walk(null, '  ');
  return lines;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'start an emulated PCS, the manager and three agents (clouds) on loopback, build a chain across them, verify it',
    )
    .option('--clouds <n>', 'clouds (one agent process each)', '3')
    .option('--platforms <n>', 'platforms per cloud', '2')
    .option('--data <dir>', 'keep the manager data (SQLite, keys) here instead of a temporary directory')
    .option('--keep', 'leave everything running and print the URLs (Ctrl-C stops)')
    .option('--json', 'print {clouds, platforms, elements, links, valid, managerUrl, dashboardUrl}')
    .option(
      '--layers',
      'cross-layer demo: one TDX trust domain per cloud, its workloads (RTMR3) admitting SGX enclaves across clouds; links sent to a manager on loopback; --json prints {layers, clouds, elements, kinds, links, valid, manager, offline}',
    )
    .option(
      '--scenario <name>',
      `then cause an event and let self-management heal the chain (${SCENARIOS.join(', ')}); --json prints {scenario, affected, predicted, reattested, migrated, quarantined, revoked, detectedMs, healedMs, valid}`,
    )
    .action(
      async (o: {
        clouds: string;
        platforms: string;
        data?: string;
        keep?: boolean;
        json?: boolean;
        scenario?: string;
        layers?: boolean;
      }) => {
        if (o.layers) {
          if (o.scenario || o.keep || o.data)
            throw new UsageError('--layers runs alone (no --scenario, --keep, --data)');
          const { runLayersDemo } = await import('./demo-layers.ts');
          return runLayersDemo({ clouds: intFlag('clouds', o.clouds, 2, CLOUDS.length), json: o.json === true });
        }
        const { generateVendorKey } = await import('../../crypto/rsa3072.ts');
        const { sha256 } = await import('../../crypto/sha256.ts');
        const { buildElementImage } = await import('../../cot/element.ts');
        const { buildPcsServer } = await import('../../sgx/manufacturer/pcs-server.ts');
        const { Manufacturer } = await import('../../sgx/manufacturer/manufacturer.ts');
        const { DEFAULT_FMSPC, DEFAULT_PCE_ID, DEFAULT_PCE_SVN, DEFAULT_TCB_COMPONENTS } =
          await import('../../sgx/platform.ts');
        const { openStore } = await import('../../store/open-store.ts');
        const { pcsCollateral } = await import('../../attestation/collateral/from-pcs.ts');
        const { AGENT_ENCLAVE_PROD_ID, agentPeerVerification, buildAgentEnclaveImage } =
          await import('../../server/agent-enclave.ts');
        const { listenAgentTls } = await import('../../server/agent-listener.ts');
        const { CotDriver } = await import('../../server/cot-driver.ts');
        const { callJson } = await import('../../server/http-json.ts');
        const { buildManager } = await import('../../server/manager.ts');
        const { loadOrCreateManagerKey } = await import('../../server/manager-key.ts');
        const { listenUrl } = await import('../../server/net.ts');
        const { createToken } = await import('../../server/tokens.ts');
        const scenario: Scenario | undefined = o.scenario ? enumFlag('scenario', o.scenario, SCENARIOS) : undefined;
        const { DEMO_REACTIONS, runScenario } = await import('./demo-scenario.ts');
        const { randomBytes } = await import('node:crypto');
        const clouds = intFlag('clouds', o.clouds, 2, CLOUDS.length);
        const perCloud = intFlag('platforms', o.platforms, 2, 8);
        const t0 = performance.now();
        const progress = (msg: string) =>
          process.stderr.write(`[demo ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);
        const tmp = await mkdtemp(join(tmpdir(), 'catena-demo-'));
        const data = o.data ?? join(tmp, 'manager');
        await mkdir(data, { recursive: true, mode: 0o700 });
        const children: ChildProcess[] = [];
        let pcs: FastifyInstance | undefined;
        let manager: FastifyInstance | undefined;
        let agentListener: AgentTlsListener | undefined;
        let store: Store | undefined;
        let cleaned: Promise<void> | undefined;
        const cleanup = () =>
          (cleaned ??= (async () => {
            await Promise.all(children.map(stopChild));
            await agentListener?.close().catch(() => {});
            await manager?.close().catch(() => {});
            await store?.close().catch(() => {});
            await pcs?.close().catch(() => {});
            await rm(tmp, { recursive: true, force: true }).catch(() => {});
          })());
        const onSignal = (sig: StopSignal) => {
          process.stderr.write(`\n[demo] ${sig}: stopping every process it started\n`);
          void cleanup().finally(() => process.exit(SIGNAL_EXIT[sig]));
        };
        const offSignal = onStopSignal(onSignal);
        try {
          // 1. The emulated manufacturer and its PCS v4 service.
          progress('starting the emulated PCS (manufacturer root CA, PCK CAs, TCB info, QE identity, CRLs)');
          // eslint-disable-next-line prefer-const -- the PCS getter reads it before the assignment below (undefined until then; a const would be in its TDZ)
          let manufacturer: Manufacturer | undefined;
          // With a scenario, the PCS admin API changes the emulated world (TCB recovery, revocations).
          const pcsAdminToken = randomBytes(24).toString('base64url');
          pcs = buildPcsServer({
            manufacturer: () => manufacturer,
            ...(scenario ? { adminToken: pcsAdminToken } : {}),
          });
          const pcsUrl = await listenUrl(pcs, '127.0.0.1', 0);
          manufacturer = await Manufacturer.create({ pcsUrl });
          manufacturer.ensureFmspc(
            DEFAULT_FMSPC,
            { components: [...DEFAULT_TCB_COMPONENTS], pceSvn: DEFAULT_PCE_SVN },
            DEFAULT_PCE_ID,
          );
          // Created before saving, so every agent's QE is signed by the key the PCS's QE identity names.
          void manufacturer.enclaveSigningKey;
          const mfrDir = join(tmp, 'manufacturer');
          await manufacturer.save(mfrDir);
          const root = manufacturer.root;
          progress(`PCS on ${pcsUrl}; emulated root CA SHA-256 ${short(hex(sha256(root)), 16)}`);

          const rootFile = join(tmp, 'root.der');
          await writeFile(rootFile, root);
          const vendorKey = generateVendorKey();
          const vendorPem = join(tmp, 'vendor-key.pem');
          await writeFile(vendorPem, vendorKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
          const mrSigner = hex(buildElementImage(vendorKey).mrSigner);
          // Agents are the vendor's agent enclaves (its MRSIGNER, the agent ISVPRODID, no DEBUG), quotes
          // under the emulated root (trusted explicitly) with the PCS's collateral.
          const agentAttestation = () =>
            agentPeerVerification({
              roots: [root],
              collateral: pcsCollateral(pcsUrl),
              mrSigner: hex(buildAgentEnclaveImage(vendorKey).mrSigner),
            });

          // 2. The manager on SQLite, with its agent TLS listener (agents register by RA-TLS there).
          store = await openStore(join(data, 'catena.db'));
          const key = await loadOrCreateManagerKey(join(data, 'manager-key.pem'));
          manager = await buildManager({
            store,
            key,
            agentCheckIntervalMs: scenario ? 1000 : 2000,
            pcsUrl,
            // Self-management: the collateral monitor and re-appraisal every second in a scenario.
            ...(scenario
              ? { watchIntervalMs: 1000, jobPollMs: 200, reactionBackoff: { baseMs: 500, maxMs: 2000 } }
              : {}),
            agentAttestation: agentAttestation(),
          });
          const managerUrl = await listenUrl(manager, '127.0.0.1', 0);
          agentListener = await listenAgentTls(manager, '127.0.0.1', 0);
          const managerCertFile = join(tmp, 'manager-agent-listener.pem');
          await writeFile(managerCertFile, agentListener.certPem);
          const admin = await createToken(store, 'admin', 'demo');
          progress(
            `manager on ${managerUrl} (SQLite ${join(data, 'catena.db')}); agent RA-TLS listener on ${agentListener.url}`,
          );

          // 3. Three agents, one process per cloud, sharing the manufacturer.
          progress(
            `starting ${clouds} agents (${perCloud} platforms each, QE/PCE per platform, an agent enclave for RA-TLS) as separate processes`,
          );
          const starts = CLOUDS.slice(0, clouds).map((cloud) =>
            startAgent(
              cloud,
              perCloud,
              {
                manager: agentListener!.url,
                managerCert: managerCertFile,
                manufacturer: mfrDir,
                vendorKey: vendorPem,
                trustRoot: rootFile,
                collateral: pcsUrl,
              },
              90_000,
            ),
          );
          children.push(...starts.map((s) => s.child));
          const agents = await Promise.all(starts.map((s) => s.ready));
          for (const a of agents) progress(`agent ${a.id} ready on ${a.url}`);

          // 4. The chain: anchored at the emulated root (explicitly), policy pins the vendor.
          const policy = {
            identities: [{ mrSigner, isvProdId: 1, minIsvSvn: 1 }],
            acceptedTcbStatuses: ['UpToDate'],
            allowDebug: false,
            ...(scenario ? { reactions: DEMO_REACTIONS } : {}),
          };
          const driver = await CotDriver.createChain(
            managerUrl,
            admin.token,
            { name: 'demo', root: hex(root), emulatedRoot: true, policy },
            { ratls: { verify: agentAttestation() }, token: admin.token },
          );
          progress(`chain ${driver.chain.id} created (owner: the manager key)`);
          // Per cloud: E on p0 (remote from the previous cloud), a local sibling on p0, a remote child on p1.
          let prev: Placed | undefined;
          const placements: Placement[] = [];
          const agentOf = new Map(agents.map((a) => [a.url, a]));
          const place = (e: Placed & { platformPpid: string; cloud: string }, platform: number) =>
            placements.push({
              element: e.element,
              agentUrl: e.agent,
              agentId: agentOf.get(e.agent)!.id,
              cloud: e.cloud,
              platform,
              ppid: e.platformPpid,
            });
          const step = async (label: string, f: () => Promise<{ element: Element }>) => {
            const r = await f();
            progress(`${label}: ${r.element.id} appended and re-verified by the manager`);
          };
          for (let c = 0; c < agents.length; c++) {
            const a = agents[c];
            const e0 = await driver.load(a.url, 0);
            place(e0, 0);
            if (!prev)
              await step(`${a.cloud}/p0 first enclave (quote appraised by the chain owner)`, () =>
                driver.appendFirst(e0),
              );
            else
              await step(`${a.cloud}/p0 remote link from ${agents[c - 1].cloud}`, () =>
                driver.append(prev!, e0, 'remote'),
              );
            const e1 = await driver.load(a.url, 0);
            place(e1, 0);
            await step(`${a.cloud}/p0 local link (REPORT checked inside the parent enclave)`, () =>
              driver.append(e0, e1, 'local'),
            );
            for (let p = 1; p < perCloud; p++) {
              const e2 = await driver.load(a.url, p);
              place(e2, p);
              await step(`${a.cloud}/p${p} remote link within the cloud`, () => driver.append(e0, e2, 'remote'));
            }
            prev = e1;
          }

          // 5. Verify through the manager.
          progress('verifying the chain through the manager (GET /v1/chains/:id/verify)');
          const v = await callJson<ChainVerification & { statuses: Record<string, string>; ear: string }>(
            `${managerUrl}/v1/chains/${driver.chain.id}/verify`,
            { token: admin.token },
          );
          const bundle = await callJson<ProofBundle>(`${managerUrl}/v1/chains/${driver.chain.id}/proof`, {
            token: admin.token,
          });
          const enclaves = bundle.elements.filter((e) => e.kind === 'enclave');
          // Re-attestation: the manager asks each enclave's agent (over RA-TLS, with a request token it
          // signs) for fresh evidence under a new nonce and appraises it itself.
          progress(`re-attesting the ${enclaves.length} enclaves through the manager (POST …/elements/:id/reattest)`);
          const reattested = { affirmed: 0, refused: 0 };
          for (const e of enclaves) {
            const r = await callJson<{ verdict: 'affirmed' | 'refused'; check?: string; message?: string }>(
              `${managerUrl}/v1/chains/${driver.chain.id}/elements/${encodeURIComponent(e.id)}/reattest`,
              { method: 'POST', token: admin.token },
            );
            reattested[r.verdict]++;
            if (r.verdict === 'refused') progress(`  ${e.id}: re-attestation refused (${r.check}: ${r.message})`);
          }
          const platforms = bundle.elements.filter((e) => e.kind === 'platform');
          // The dashboard link: a reader token in the fragment (never sent to the server; the page moves it to sessionStorage).
          const dashboardUrl = `${managerUrl}/ui/#token=${encodeURIComponent((await createToken(store, 'reader', 'dashboard')).token)}`;
          const summary = {
            clouds: agents.length,
            platforms: agents.length * perCloud,
            elements: enclaves.length,
            links: v.links,
            valid: v.valid && reattested.refused === 0,
            reattested,
            managerUrl,
            dashboardUrl,
            chain: driver.chain.id,
            size: v.size,
            emulatedRoot: v.emulatedRoot,
            failures: v.failures,
            seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
          };
          if (scenario) {
            progress(`chain built and ${summary.valid ? 'valid' : 'NOT valid'}; scenario ${scenario}`);
            const r = await runScenario(scenario, {
              manager,
              managerUrl,
              adminToken: admin.token,
              chainId: driver.chain.id,
              pcsUrl,
              pcsAdminToken,
              manufacturer,
              fmspc: DEFAULT_FMSPC,
              agents,
              placements,
              agentAccess: { ratls: { verify: agentAttestation() }, token: admin.token },
              progress,
            });
            const valid = r.valid && summary.valid;
            if (o.json) printJson({ ...r, valid, chain: driver.chain.id });
            else {
              const out = (line: string) => process.stdout.write(line + '\n');
              out(`Scenario ${scenario}: chain ${driver.chain.id}`);
              for (const t of r.timeline) out(`  +${String(t.ms).padStart(6)} ms  ${t.what}`);
              out(
                `  affected ${r.affected}, predicted ${r.predicted}, reattested ${r.reattested}, migrated ${r.migrated}, quarantined ${r.quarantined}, revoked ${r.revoked}`,
              );
              out(
                `  detected in ${r.detectedMs} ms, healed in ${r.healedMs} ms; chain ${valid ? 'VALID' : 'NOT valid'}`,
              );
            }
            setExit(valid ? EXIT.OK : EXIT.NEGATIVE);
            return;
          }
          if (o.json) printJson(summary);
          else {
            const out = (s: string) => process.stdout.write(s + '\n');
            out('');
            out(`Chain "demo" ${driver.chain.id}`);
            out(
              `  anchored at the EMULATED root CA ${short(hex(sha256(root)), 16)}… (trusted explicitly for this demo; not Intel's)`,
            );
            out(`  policy: MRSIGNER ${short(mrSigner, 16)}…, ISVPRODID 1, ISVSVN >= 1, TCB UpToDate, no DEBUG`);
            out('');
            out('  RoT (emulated manufacturer) ─▶ platform ─▶ QE ─▶ enclaves:');
            for (const line of drawTree(bundle, v, v.statuses)) out(line);
            out('');
            out('  Platforms (from the PCK certificates in the quotes):');
            for (const p of platforms)
              out(
                `    ${(p.cloud ?? '?').padEnd(8)} PPID ${short(p.platform, 16)}…  FMSPC ${p.fmspc ?? '-'}  TCB ${p.tcbStatus ?? '-'}${p.advisoryIds?.length ? ` (${p.advisoryIds.join(', ')})` : ''}`,
              );
            out('');
            out('  Element identities:');
            const ids = new Map<string, number>();
            for (const e of enclaves) {
              const i = e.identity && isEnclaveIdentity(e.identity) ? e.identity : undefined;
              ids.set(`${i?.mrEnclave}/${i?.isvSvn}`, (ids.get(`${i?.mrEnclave}/${i?.isvSvn}`) ?? 0) + 1);
            }
            for (const [k, n] of ids)
              out(
                `    MRENCLAVE ${short(k.split('/')[0], 16)}…  MRSIGNER ${short(mrSigner, 16)}…  ISVSVN ${k.split('/')[1]}  × ${n}`,
              );
            out('');
            out(
              `  Agents: API over RA-TLS, certificates from each agent's enclave (MRSIGNER ${short(hex(buildAgentEnclaveImage(vendorKey).mrSigner), 16)}…, ISVPRODID 0x${AGENT_ENCLAVE_PROD_ID.toString(16)}, no DEBUG),`,
            );
            out(
              '          registered by RA-TLS client authentication; agent-to-agent evidence calls mutually attested',
            );
            out('');
            out(
              `  ${enclaves.length} enclaves on ${summary.platforms} platforms in ${summary.clouds} clouds; links: ${v.links.local} local, ${v.links.remote} remote`,
            );
            out(
              `  Re-attested by the manager (fresh nonce, evidence fetched over RA-TLS): ${reattested.affirmed} affirmed, ${reattested.refused} refused`,
            );
            out(
              `  Verdict: ${summary.valid ? 'VALID' : 'INVALID'}${v.failures.length ? ` — ${v.failures.map((f) => `${f.link} ${f.check}: ${f.message}`).join('; ')}` : ''} (EAR JWT signed by the manager: ${v.ear.length} bytes)`,
            );
            out(`  Manager: ${managerUrl}  (${summary.seconds} s)`);
          }
          setExit(summary.valid ? EXIT.OK : EXIT.NEGATIVE);
          if (o.keep) {
            offSignal();
            const w = (s: string) => process.stderr.write(s + '\n');
            w('');
            w('Running (--keep); Ctrl-C stops everything:');
            w(
              `  manager     ${managerUrl}   (OpenAPI ${managerUrl}/openapi.json, metrics ${managerUrl}/metrics, events ${managerUrl}/v1/events)`,
            );
            w(`  dashboard   ${dashboardUrl}`);
            w(`  admin token ${admin.token}`);
            w(`  PCS         ${pcsUrl}/sgx/certification/v4/`);
            w(`  agent TLS   ${agentListener.url}  (RA-TLS client authentication; certificate ${managerCertFile})`);
            for (const a of agents) w(`  agent       ${a.url}  (${a.cloud})`);
            w(`  chain       ${managerUrl}/v1/chains/${driver.chain.id}/verify`);
            setExit(SIGNAL_EXIT[await untilStopSignal()]);
          }
        } catch (e) {
          if (e instanceof UsageError) throw e;
          process.stderr.write(`[demo] failed: ${(e as Error).message}\n`);
          setExit(EXIT.NEGATIVE);
          if (o.json) printJson({ valid: false, error: (e as Error).message });
        } finally {
          offSignal();
          progress('stopping every process the demo started');
          await cleanup();
        }
      },
    );
}
