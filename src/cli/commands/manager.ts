import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { AgentTlsListener } from '../../server/agent-listener.ts';
import { intFlag, printJson, say, UsageError } from '../io.ts';
import { availableParallelism } from 'node:os';

/** `catena manager`: the CoT manager service (REST API under /v1, docs/api.md) until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command('manager')
    .description('run the chain-of-trust manager (REST API, OpenAPI at /openapi.json)')
    .option('--listen <host:port>', 'address', '127.0.0.1:8080')
    .option('--data <dir>', 'data directory: SQLite database and manager key (default: $XDG_STATE_HOME/catena/manager)')
    .option('--db <url>', 'store: SQLite path / sqlite:PATH, or postgres://… (default DATA/catena.db)')
    .option('--key <pem>', 'manager key (P-256, created if missing; default DATA/manager-key.pem)')
    .option('--agent-check <ms>', 'agent health-check interval', '5000')
    .option('--pcs <url>', 'PCS/PCCS base URL (API v4): the manager fetches and caches collateral for remote appends itself')
    .option('--reattest-every <seconds>', 're-attest every active element hosted by an agent this often (default: only on request)')
    .option('--agent-listen <host:port>', 'also listen here with TLS for agents: an agent presenting a verified RA-TLS certificate registers without a token (needs --agent-mrsigner)')
    .option('--agent-mrsigner <hex>', "agents' enclaves must have this MRSIGNER (and the agent ISVPRODID, no DEBUG)")
    .option('--trust-root <file>', "root CA (PEM/DER) agents' quotes must chain to (default: Intel's); an emulated root is trusted only when given here")
    .option('--collateral <where>', "collateral for agents' quotes: PCS/PCCS URL, directory or collateral.json (default: --pcs)")
    .option('--verify-threads <n>', 'worker threads verifying quotes (default: cores − 1; 0: in the event loop thread)')
    .option('--json', 'print one JSON document {url, keyId, db, agentListener?} once listening')
    .action(async (o: { listen: string; data?: string; db?: string; key?: string; agentCheck: string; pcs?: string; reattestEvery?: string; verifyThreads?: string; agentListen?: string; agentMrsigner?: string; trustRoot?: string; collateral?: string; json?: boolean }) => {
      const { openCollateral } = await import('../../attestation/collateral/open.ts');
      const { certificatesFromFile } = await import('../../channel/default-attestation.ts');
      const { agentPeerVerification } = await import('../../server/agent-enclave.ts');
      const { listenAgentTls } = await import('../../server/agent-listener.ts');
      const { openStore, parseStoreUrl } = await import('../../store/open-store.ts');
      const { buildManager } = await import('../../server/manager.ts');
      const { loadOrCreateManagerKey, managerKeyId } = await import('../../server/manager-key.ts');
      const { managerPaths } = await import('../../server/data-dir.ts');
      const { listenUrl, parseListen, untilSignal } = await import('../../server/net.ts');
      let listen;
      try {
        listen = parseListen(o.listen);
      } catch (e) {
        throw new UsageError(`--listen: ${(e as Error).message}`);
      }
      if (o.pcs !== undefined && !/^https?:\/\/[^/]/.test(o.pcs)) throw new UsageError(`--pcs: not an http(s) URL: ${o.pcs}`);
      const reattestIntervalMs = o.reattestEvery === undefined ? 0 : reattestMs(o.reattestEvery);
      let agentListen;
      try {
        agentListen = o.agentListen ? parseListen(o.agentListen) : undefined;
      } catch (e) {
        throw new UsageError(`--agent-listen: ${(e as Error).message}`);
      }
      if (o.agentMrsigner !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.agentMrsigner)) throw new UsageError('--agent-mrsigner: 64 hex digits');
      if (agentListen && !o.agentMrsigner) throw new UsageError('--agent-listen needs --agent-mrsigner (which agent enclaves to accept)');
      const collateralAt = o.collateral ?? o.pcs;
      if (o.agentMrsigner && !collateralAt) throw new UsageError('agent attestation needs collateral: --collateral or --pcs');
      const roots = o.trustRoot ? certificatesFromFile(await readFile(o.trustRoot)) : undefined;
      // Agents' RA-TLS certificates are judged on the agent listener and in health checks.
      const agentAttestation = o.agentMrsigner ? agentPeerVerification({ ...(roots ? { roots } : {}), collateral: await openCollateral(collateralAt!), mrSigner: o.agentMrsigner }) : undefined;
      const verifierThreads = o.verifyThreads === undefined ? availableParallelism() - 1 : intFlag('verify-threads', o.verifyThreads, 0, 64);
      const paths = await managerPaths(o);
      const shared = parseStoreUrl(paths.db).kind === 'postgres';
      const store = await openStore(paths.db);
      const key = await loadOrCreateManagerKey(paths.key);
      const app = await buildManager({ store, key, sharedStore: shared, agentCheckIntervalMs: Number(o.agentCheck) || 0, verifierThreads, ...(o.pcs ? { pcsUrl: o.pcs } : {}), ...(agentAttestation ? { agentAttestation } : {}), reattestIntervalMs });
      let listener: AgentTlsListener | undefined;
      try {
        const url = await listenUrl(app, listen.host, listen.port);
        let agentListener;
        if (agentListen) {
          listener = await listenAgentTls(app, agentListen.host, agentListen.port);
          // Agents pin this certificate (catena agent --manager-cert); a fresh one each start.
          const certFile = join(paths.data, 'agent-listener.pem');
          await writeFile(certFile, listener.certPem);
          agentListener = { url: listener.url, certificate: certFile };
        }
        const info = { url, keyId: managerKeyId(key.publicKey), db: shared ? 'postgres' : 'sqlite', data: paths.data, ...(o.pcs ? { pcs: o.pcs } : {}), ...(agentListener ? { agentListener } : {}) };
        if (o.json) printJson(info);
        else {
          say(false, `catena manager listening on ${url} (${info.db}, key ${info.keyId}); OpenAPI: ${url}/openapi.json`);
          if (agentListener) say(false, `agent RA-TLS listener on ${agentListener.url} (certificate for agents to pin: ${agentListener.certificate})`);
        }
        await untilSignal();
      } finally {
        await listener?.close();
        await app.close();
        await store.close();
      }
    });
}

function reattestMs(v: string): number {
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0) throw new UsageError(`--reattest-every: a positive number of seconds, not ${JSON.stringify(v)}`);
  return Math.round(s * 1000);
}
