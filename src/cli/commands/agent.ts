import type { JWK } from 'jose';
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ManagerLink } from '../../server/manager-client.ts';
import { intFlag, printJson, say, UsageError } from '../io.ts';

/**
 * `catena agent --manager URL --cloud NAME --platforms N --manufacturer DIR`: hosts N emulated
 * platforms (QE/PCE each) of one cloud, launches its agent enclave on one of them (the RA-TLS key and
 * certificate of the agent API are made there), registers with the manager and serves the agent API
 * over RA-TLS until SIGINT/SIGTERM. Registration: with a token (--token / CATENA_AGENT_TOKEN) on an
 * http manager URL, or by RA-TLS client authentication on the manager's agent TLS listener (an https
 * URL, its certificate pinned with --manager-cert). Other agents are judged with --trust-root (the
 * emulated root, trusted only when given) and --collateral; without --collateral no agent-to-agent call
 * is possible. Every agent must share one emulated manufacturer: DIR is a manufacturer saved with
 * Manufacturer.save (catena demo writes one; `catena emulate pcs --data DIR` too).
 */
export function register(program: Command): void {
  program
    .command('agent')
    .description('host emulated SGX platforms of one cloud and perform attestations for the CoT manager')
    .requiredOption(
      '--manager <url>',
      'manager base URL (http: registration token; https: the agent TLS listener, RA-TLS client authentication)',
    )
    .requiredOption('--cloud <name>', 'cloud name')
    .requiredOption('--manufacturer <dir>', 'emulated manufacturer directory (shared by every agent)')
    .option('--platforms <n>', 'platforms to host', '1')
    .option('--listen <host:port>', 'agent API address (loopback)', '127.0.0.1:0')
    .option(
      '--token <token>',
      'agent registration token (default: $CATENA_AGENT_TOKEN); optional with an https manager URL',
    )
    .option(
      '--manager-cert <file>',
      "the manager agent listener's certificate (PEM/DER), pinned; required with an https manager URL",
    )
    .option('--vendor-key <pem>', 'RSA-3072 key signing the element and agent enclaves (default: a fresh one)')
    .option('--agent-platform <n>', 'platform the agent enclave runs on', '0')
    .option(
      '--trust-root <file>',
      "root CA (PEM/DER) other agents' quotes must chain to (default: Intel's); an emulated root is trusted only when given here",
    )
    .option('--collateral <where>', "collateral for other agents' quotes: PCS/PCCS URL, directory or collateral.json")
    .option('--peer-mrsigner <hex>', "MRSIGNER other agents' enclaves must have (default: this agent's vendor key)")
    .option('--id <id>', 'agent id (default: agent-<cloud>)')
    .option('--log-level <level>', 'JSON logs on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--json', 'print one JSON document {id, url, cloud, platforms, enclave} once registered')
    .action(
      async (o: {
        manager: string;
        cloud: string;
        manufacturer: string;
        platforms: string;
        listen: string;
        token?: string;
        managerCert?: string;
        vendorKey?: string;
        agentPlatform: string;
        trustRoot?: string;
        collateral?: string;
        peerMrsigner?: string;
        id?: string;
        logLevel: string;
        json?: boolean;
      }) => {
        const { managerRequestVerifier } = await import('../../server/manager-request.ts');
        const { openCollateral } = await import('../../attestation/collateral/open.ts');
        const { certificatesFromFile } = await import('../../channel/default-attestation.ts');
        const { EmulatedWorld } = await import('../../cot/world.ts');
        const { Manufacturer } = await import('../../sgx/manufacturer/manufacturer.ts');
        const { generateVendorKey } = await import('../../crypto/rsa3072.ts');
        const { buildAgent } = await import('../../server/agent.ts');
        const { agentPeerVerification, buildAgentEnclaveImage, launchAgentEnclave, renewAgentCertificate } =
          await import('../../server/agent-enclave.ts');
        const { callManager, managerTokenChecker } = await import('../../server/manager-client.ts');
        const { listenUrl, parseListen, untilSignal } = await import('../../server/net.ts');
        const { LOG_LEVELS } = await import('../../http/create-app.ts');
        if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel))
          throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}; got ${o.logLevel}`);
        const logLevel = o.logLevel as import('../../http/create-app.ts').LogLevel;
        const n = intFlag('platforms', o.platforms, 1, 64);
        const agentPlatform = intFlag('agent-platform', o.agentPlatform, 0, n - 1);
        let listen;
        try {
          listen = parseListen(o.listen);
        } catch (e) {
          throw new UsageError(`--listen: ${(e as Error).message}`);
        }
        const httpsManager = /^https:\/\//i.test(o.manager);
        const token = o.token ?? process.env.CATENA_AGENT_TOKEN;
        if (!token && !httpsManager)
          throw new UsageError(
            'an agent token is required with an http manager URL: --token or CATENA_AGENT_TOKEN (catena admin token create --role agent)',
          );
        if (httpsManager && !o.managerCert)
          throw new UsageError(
            '--manager-cert is required with an https manager URL (the listener certificate is pinned)',
          );
        if (o.peerMrsigner !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.peerMrsigner))
          throw new UsageError('--peer-mrsigner: 64 hex digits');
        const roots = o.trustRoot ? certificatesFromFile(await readFile(o.trustRoot)) : undefined;
        if (roots && roots.length === 0) throw new UsageError(`--trust-root: no certificate in ${o.trustRoot}`);
        const managerCert = o.managerCert ? certificatesFromFile(await readFile(o.managerCert))[0] : undefined;
        const vendorKey = o.vendorKey ? createPrivateKey(await readFile(o.vendorKey, 'utf8')) : generateVendorKey();
        const manufacturer = await Manufacturer.load(o.manufacturer);
        const world = await EmulatedWorld.create({
          clouds: 1,
          platformsPerCloud: n,
          cloudNames: [o.cloud],
          manufacturer,
        });
        const id = o.id ?? `agent-${o.cloud}`;
        let app: ReturnType<typeof buildAgent> | undefined;
        let agentEnclave;
        let renew: NodeJS.Timeout | undefined;
        try {
          const [, enclave] = await Promise.all([
            world.collateralFor(),
            launchAgentEnclave(world, agentPlatform, buildAgentEnclaveImage(vendorKey), `Catena agent ${id}`),
          ]);
          agentEnclave = enclave;
          // The same object everywhere (API server, calls to agents and the manager): renewal updates it in place.
          const tls = enclave;
          const peers = o.collateral
            ? agentPeerVerification({
                ...(roots ? { roots } : {}),
                collateral: await openCollateral(o.collateral),
                mrSigner: o.peerMrsigner ?? enclave.mrSigner,
              })
            : undefined;
          const link: ManagerLink = {
            url: o.manager,
            ...(token ? { token } : {}),
            ...(httpsManager ? { tls, ...(managerCert ? { managerCert } : {}) } : {}),
          };
          // The manager's published key: its request tokens (re-attestation) are verified with it.
          const checkManagerRequest = await managerRequestVerifier(
            await callManager<{ keys: JWK[] }>(link, '/.well-known/jwks.json'),
            id,
          );
          app = buildAgent({
            world,
            cloud: o.cloud,
            vendorKey,
            id,
            tls,
            logLevel,
            ...(peers ? { peers } : {}),
            checkToken: managerTokenChecker(link),
            checkManagerRequest,
          });
          const url = await listenUrl(app, listen.host, listen.port);
          const platforms = world.platforms.map((p, index) => ({ index, ppid: p.ppid }));
          await callManager(link, '/v1/agents', { body: { id, cloud: o.cloud, url, platforms } });
          const info = {
            id,
            url,
            cloud: o.cloud,
            platforms,
            enclave: { mrEnclave: enclave.mrEnclave, mrSigner: enclave.mrSigner, platform: agentPlatform },
            registeredBy: httpsManager ? 'ra-tls' : 'token',
            peers: peers ? 'ra-tls' : 'none',
          };
          if (o.json) printJson(info);
          else {
            say(
              false,
              `agent ${id} (${o.cloud}) serving RA-TLS on ${url}, registered with ${o.manager} (${info.registeredBy})`,
            );
            say(
              false,
              `  agent enclave on platform ${agentPlatform}: MRENCLAVE ${enclave.mrEnclave}, MRSIGNER ${enclave.mrSigner}`,
            );
            if (!peers) say(false, '  no --collateral: calls to and from other agents are refused');
            for (const p of platforms) say(false, `  platform ${p.index}: PPID ${p.ppid}`);
          }
          // RA-TLS certificates are valid a day: a fresh one (new key, new quote) every 12 hours.
          renew = setInterval(
            () =>
              void renewAgentCertificate(
                enclave,
                app!.server as unknown as { setSecureContext(o: object): void },
                `Catena agent ${id}`,
              ).catch((e: Error) => process.stderr.write(`agent ${id}: certificate renewal failed: ${e.message}\n`)),
            12 * 3600_000,
          );
          renew.unref();
          // Started by a parent that may die without signalling (catena demo): exit when stdin closes.
          const stdinClosed =
            process.env.CATENA_EXIT_WITH_STDIN === '1'
              ? new Promise<void>((r) => {
                  process.stdin.once('end', r).once('close', r);
                  process.stdin.resume();
                })
              : new Promise<void>(() => {});
          await Promise.race([untilSignal(), stdinClosed]);
        } finally {
          clearInterval(renew);
          await app?.close();
          await agentEnclave?.enclave.destroy().catch(() => {});
          await world.close();
        }
      },
    );
}
