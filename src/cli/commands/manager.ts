import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { AgentTlsListener } from '../../server/agent-listener.ts';
import { durationFlag, intFlag, printJson, say, UsageError } from '../io.ts';
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
    .option(
      '--pcs <url>',
      'PCS/PCCS base URL (API v4): the manager fetches and caches collateral for remote appends itself',
    )
    .option(
      '--watch-interval <duration>',
      'with --pcs: how often self-management polls the PCS (TCB info and QE identity at standard and early, CRLs) and re-appraises stored evidence: 60s, 5m, or seconds',
      '60s',
    )
    .option(
      '--reattest-every <seconds>',
      're-attest every active element hosted by an agent this often (default: only on request)',
    )
    .option(
      '--agent-listen <host:port>',
      'also listen here with TLS for agents: an agent presenting a verified RA-TLS certificate registers without a token (needs --agent-mrsigner)',
    )
    .option('--agent-mrsigner <hex>', "agents' enclaves must have this MRSIGNER (and the agent ISVPRODID, no DEBUG)")
    .option(
      '--trust-root <file>',
      "root CA (PEM/DER) agents' quotes must chain to (default: Intel's); an emulated root is trusted only when given here",
    )
    .option(
      '--collateral <where>',
      "collateral for agents' quotes: PCS/PCCS URL, directory or collateral.json (default: --pcs)",
    )
    .option('--verify-threads <n>', 'worker threads verifying quotes (default: cores − 1; 0: in the event loop thread)')
    .option(
      '--agent-hosts <hosts>',
      'comma-separated hosts agent URLs may name (exact, or *.suffix); agents register https URLs only',
      '127.0.0.1,::1,localhost',
    )
    .option(
      '--metrics-listen <host:port>',
      "serve /metrics without a token on this address (the API's /metrics needs a reader token)",
    )
    .option('--log-level <level>', 'JSON logs on stderr: fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--request-timeout <ms>', 'time to receive a whole request', '30000')
    .option('--headers-timeout <ms>', 'time to receive the request headers', '10000')
    .option('--keep-alive-timeout <ms>', 'idle keep-alive connections are closed after', '5000')
    .option('--max-connections <n>', 'open connections at once, per listener', '1024')
    .option('--max-requests-per-socket <n>', 'requests on one connection (0: unlimited)', '1000')
    .option('--auth-failures <n>', 'failed authentications per client address and minute before 429', '30')
    .option('--writes-per-minute <n>', 'writes per token and minute before 429', '100000')
    .option('--json', 'print one JSON document {url, keyId, db, agentListener?} once listening')
    .action(
      async (o: {
        listen: string;
        data?: string;
        db?: string;
        key?: string;
        agentCheck: string;
        pcs?: string;
        reattestEvery?: string;
        watchInterval: string;
        verifyThreads?: string;
        agentListen?: string;
        agentMrsigner?: string;
        trustRoot?: string;
        collateral?: string;
        agentHosts: string;
        metricsListen?: string;
        logLevel: string;
        requestTimeout: string;
        headersTimeout: string;
        keepAliveTimeout: string;
        maxConnections: string;
        maxRequestsPerSocket: string;
        authFailures: string;
        writesPerMinute: string;
        json?: boolean;
      }) => {
        const { openCollateral } = await import('../../attestation/collateral/open.ts');
        const { certificatesFromFile } = await import('../../channel/default-attestation.ts');
        const { agentPeerVerification } = await import('../../server/agent-enclave.ts');
        const { listenAgentTls } = await import('../../server/agent-listener.ts');
        const { openStore, parseStoreUrl } = await import('../../store/open-store.ts');
        const { buildManager } = await import('../../server/manager.ts');
        const { loadOrCreateManagerKey, managerKeyId } = await import('../../server/manager-key.ts');
        const { managerPaths } = await import('../../server/data-dir.ts');
        const { listenUrl, parseListen, untilSignal } = await import('../../server/net.ts');
        const { LOG_LEVELS } = await import('../../http/create-app.ts');
        if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel))
          throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}; got ${o.logLevel}`);
        const logLevel = o.logLevel as import('../../http/create-app.ts').LogLevel;
        const limits = {
          requestTimeoutMs: intFlag('request-timeout', o.requestTimeout, 1000, 3_600_000),
          headersTimeoutMs: intFlag('headers-timeout', o.headersTimeout, 1000, 3_600_000),
          keepAliveTimeoutMs: intFlag('keep-alive-timeout', o.keepAliveTimeout, 0, 3_600_000),
          maxConnections: intFlag('max-connections', o.maxConnections, 1, 1_000_000),
          maxRequestsPerSocket: intFlag('max-requests-per-socket', o.maxRequestsPerSocket, 0, 1_000_000_000),
        };
        if (limits.headersTimeoutMs > limits.requestTimeoutMs)
          throw new UsageError('--headers-timeout must not exceed --request-timeout');
        const rateLimits = {
          failures: { max: intFlag('auth-failures', o.authFailures, 1, 1_000_000), windowMs: 60_000 },
          writes: { max: intFlag('writes-per-minute', o.writesPerMinute, 1, 1_000_000_000), windowMs: 60_000 },
        };
        const agentHosts = o.agentHosts
          .split(',')
          .map((h) => h.trim())
          .filter((h) => h.length > 0);
        if (agentHosts.length === 0) throw new UsageError('--agent-hosts: at least one host');
        let metricsListen;
        try {
          metricsListen = o.metricsListen ? parseListen(o.metricsListen) : undefined;
        } catch (e) {
          throw new UsageError(`--metrics-listen: ${(e as Error).message}`);
        }
        let listen;
        try {
          listen = parseListen(o.listen);
        } catch (e) {
          throw new UsageError(`--listen: ${(e as Error).message}`);
        }
        if (o.pcs !== undefined && !/^https?:\/\/[^/]/.test(o.pcs))
          throw new UsageError(`--pcs: not an http(s) URL: ${o.pcs}`);
        const reattestIntervalMs = o.reattestEvery === undefined ? 0 : reattestMs(o.reattestEvery);
        const watchIntervalMs = durationFlag('watch-interval', o.watchInterval);
        let agentListen;
        try {
          agentListen = o.agentListen ? parseListen(o.agentListen) : undefined;
        } catch (e) {
          throw new UsageError(`--agent-listen: ${(e as Error).message}`);
        }
        if (o.agentMrsigner !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.agentMrsigner))
          throw new UsageError('--agent-mrsigner: 64 hex digits');
        if (agentListen && !o.agentMrsigner)
          throw new UsageError('--agent-listen needs --agent-mrsigner (which agent enclaves to accept)');
        const collateralAt = o.collateral ?? o.pcs;
        if (o.agentMrsigner && !collateralAt)
          throw new UsageError('agent attestation needs collateral: --collateral or --pcs');
        const roots = o.trustRoot ? certificatesFromFile(await readFile(o.trustRoot)) : undefined;
        // Agents' RA-TLS certificates are judged on the agent listener and in health checks.
        const agentAttestation = o.agentMrsigner
          ? agentPeerVerification({
              ...(roots ? { roots } : {}),
              collateral: await openCollateral(collateralAt!),
              mrSigner: o.agentMrsigner,
            })
          : undefined;
        const verifierThreads =
          o.verifyThreads === undefined
            ? availableParallelism() - 1
            : intFlag('verify-threads', o.verifyThreads, 0, 64);
        // The manager's files (database, WAL, keys, listener certificate) are for this user only.
        // Not in a worker thread (the CLI's tests run it there), where umask cannot be set.
        if ((await import('node:worker_threads')).isMainThread) process.umask(0o077);
        const paths = await managerPaths(o);
        const shared = parseStoreUrl(paths.db).kind === 'postgres';
        const store = await openStore(paths.db);
        const key = await loadOrCreateManagerKey(paths.key);
        const app = await buildManager({
          store,
          key,
          sharedStore: shared,
          logLevel,
          limits,
          rateLimits,
          agentHosts,
          agentCheckIntervalMs: Number(o.agentCheck) || 0,
          verifierThreads,
          ...(o.pcs ? { pcsUrl: o.pcs, watchIntervalMs } : {}),
          ...(agentAttestation ? { agentAttestation } : {}),
          reattestIntervalMs,
        });
        let listener: AgentTlsListener | undefined;
        const { buildMetricsServer } = await import('../../server/metrics-server.ts');
        const metricsApp = metricsListen ? buildMetricsServer(app, { logLevel }) : undefined;
        try {
          const url = await listenUrl(app, listen.host, listen.port);
          const metricsUrl =
            metricsApp && metricsListen
              ? await listenUrl(metricsApp, metricsListen.host, metricsListen.port)
              : undefined;
          let agentListener;
          if (agentListen) {
            listener = await listenAgentTls(app, agentListen.host, agentListen.port, limits);
            // Agents pin this certificate (catena agent --manager-cert); a fresh one each start.
            const certFile = join(paths.data, 'agent-listener.pem');
            await writeFile(certFile, listener.certPem);
            agentListener = { url: listener.url, certificate: certFile };
          }
          const info = {
            url,
            keyId: managerKeyId(key.publicKey),
            db: shared ? 'postgres' : 'sqlite',
            data: paths.data,
            ...(o.pcs ? { pcs: o.pcs } : {}),
            ...(agentListener ? { agentListener } : {}),
            ...(metricsUrl ? { metrics: `${metricsUrl}/metrics` } : {}),
          };
          if (o.json) printJson(info);
          else {
            say(
              false,
              `catena manager listening on ${url} (${info.db}, key ${info.keyId}); OpenAPI: ${url}/openapi.json`,
            );
            if (agentListener)
              say(
                false,
                `agent RA-TLS listener on ${agentListener.url} (certificate for agents to pin: ${agentListener.certificate})`,
              );
          }
          await untilSignal();
        } finally {
          await listener?.close();
          await metricsApp?.close();
          await app.close();
          await store.close();
        }
      },
    );
}

function reattestMs(v: string): number {
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0)
    throw new UsageError(`--reattest-every: a positive number of seconds, not ${JSON.stringify(v)}`);
  return Math.round(s * 1000);
}
