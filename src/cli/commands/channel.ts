import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { TCB_STATUSES } from '../../formats/json-fields.ts';
import { enumFlag, enumListFlag, printJson, setExit, EXIT, say, timeFlag, UsageError } from '../io.ts';
import { defaultStateDir } from '../../server/data-dir.ts';
import type { ChannelPolicy, PeerIdentity } from '../../channel/types.ts';
import type { AttestationSpec } from '../../channel/attestation-spec.ts';
import type { ChannelAttestation } from '../../channel/default-attestation.ts';
import type { CollateralSource } from '../../attestation/collateral/types.ts';
import type { EnclaveConfig } from '../../sgx/build.ts';

/**
 * `catena channel serve --listen 127.0.0.1:PORT [--require-attested-client]` — an emulated platform
 * runs the example RA-TLS enclave (enclaves/ratls); TLS terminates inside it and the host relays
 * ciphertext. It echoes what a client sends. Prints one JSON document once listening (with --json),
 * logs connections on stderr, and runs until SIGINT/SIGTERM.
 *
 * `catena channel connect HOST:PORT --root CERT [--policy FILE]` — a relying party (no enclave, or
 * with --enclave an emulated client enclave for mutual mode) verifies the server during the
 * handshake and prints its identity; exit 1 when refused, naming the failed check.
 *
 * Evidence: real DCAP v3 quotes from the platform's emulated QE, certified by an emulated manufacturer
 * kept in `--state` (so its root is stable across runs). `serve` publishes the root (root.pem,
 * root.der) and the collateral (collateral.json, dcap-qvl format) in the state directory; `connect`
 * verifies with Catena's DCAP verifier trusting `--root` and reading `--collateral` (a
 * collateral.json, a collateral directory or a PCS/PCCS URL; default collateral.json beside --root).
 */
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i;
function hostPort(flag: string, v: string): { host: string; port: number } {
  const m = HOST_PORT.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag}: expected HOST:PORT, got ${v}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function readPolicy(
  path: string | undefined,
  allowDebug: boolean | undefined,
): { policy: ChannelPolicy; described: string } {
  if (!path)
    return {
      policy: { anyIdentity: true, allowDebug: !!allowDebug },
      described: `any ${allowDebug ? '' : 'non-DEBUG '}enclave whose evidence verifies (no --policy given)`,
    };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--policy ${path}: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new UsageError(`--policy ${path}: expected a JSON object`);
  const known = new Set(['mrEnclave', 'mrSigner', 'isvProdId', 'minIsvSvn', 'allowDebug']);
  for (const k of Object.keys(j))
    if (!known.has(k)) throw new UsageError(`--policy ${path}: unknown field ${k} (allowed: ${[...known].join(', ')})`);
  const hex32 = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v);
  if (j.mrEnclave !== undefined && (!Array.isArray(j.mrEnclave) || !j.mrEnclave.every(hex32)))
    throw new UsageError(`--policy: mrEnclave must be a list of 64-hex-digit strings`);
  if (j.mrSigner !== undefined && !hex32(j.mrSigner)) throw new UsageError(`--policy: mrSigner must be 64 hex digits`);
  for (const k of ['isvProdId', 'minIsvSvn'])
    if (j[k] !== undefined && !(Number.isInteger(j[k]) && (j[k] as number) >= 0 && (j[k] as number) <= 0xffff))
      throw new UsageError(`--policy: ${k} must be an integer in [0, 65535]`);
  if (!j.mrEnclave && !j.mrSigner) throw new UsageError(`--policy: name mrEnclave or mrSigner`);
  const policy = { ...(j as object), ...(allowDebug ? { allowDebug: true } : {}) } as ChannelPolicy;
  return { policy, described: path };
}

function readRoots(path: string, certificatesFromFile: (b: Uint8Array) => Uint8Array[]): Uint8Array[] {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`--root ${path}: ${(e as Error).message}`);
  }
  try {
    const certs = certificatesFromFile(bytes);
    if (!certs.length) throw new Error('no certificate in the file');
    return certs;
  } catch (e) {
    throw new UsageError(`--root ${path}: not a certificate (PEM or DER): ${(e as Error).message}`);
  }
}

/** The example RA-TLS enclave, signed with a vendor key kept in the state directory (stable MRSIGNER). */
async function ratlsImage(stateDir: string) {
  const { buildEnclave } = await import('../../sgx/build.ts');
  const { generateVendorKey } = await import('../../crypto/rsa3072.ts');
  const dir = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../../enclaves/ratls');
  const source = readFileSync(join(dir, 'ratls.js'), 'utf8');
  const config = JSON.parse(readFileSync(join(dir, 'enclave.json'), 'utf8')) as EnclaveConfig;
  const keyPath = join(stateDir, 'vendor.pem');
  const { keyDirectory, readPrivateKeyFile, writeNewKeyFile } = await import('../../crypto/key-file.ts');
  // An existing key that cannot be read or parsed stops the command (KeyFileError, exit 2): a new key
  // would silently change the enclave's MRSIGNER.
  let key: KeyObject | undefined = await readPrivateKeyFile(keyPath);
  if (!key) {
    key = generateVendorKey();
    await keyDirectory(dirname(keyPath));
    await writeNewKeyFile(keyPath, key.export({ type: 'pkcs8', format: 'pem' }) as string);
  }
  return buildEnclave(source, config, key);
}

/**
 * An emulated platform with its QE/PCE (manufacturer kept in `stateDir`) running the RA-TLS enclave.
 * `peers` = how the enclave validates its peers; default: DCAP under its own manufacturer's root
 * and collateral (mutual mode between enclaves of one deployment).
 */
async function startEnclave(
  stateDir: string,
  runtime: 'isolated' | 'inline',
  config: { peers?: AttestationSpec; policy?: ChannelPolicy; requireAttestedClient?: boolean },
) {
  const { Platform } = await import('../../sgx/platform.ts');
  const ch = await import('../../channel/index.ts');
  const image = await ratlsImage(stateDir);
  const platform = await Platform.open({ name: 'channel' });
  let attestation: ChannelAttestation | undefined;
  const relay = new ch.EnclaveChannelRelay();
  try {
    const { startEmulatedDcapIssuer } = await import('../../sgx/manufacturer/emulated-dcap-issuer.ts');
    attestation = ch.channelAttestation(await startEmulatedDcapIssuer({ platform, stateDir }));
    const handle = await platform.loadEnclave(image, {
      runtime,
      ocalls: { ...relay.ocalls(), ...ch.quotingOcalls(attestation.backend) },
    });
    relay.attach(handle);
    await handle.ecall('channelInit', {
      attestation: config.peers ?? attestation.spec,
      ...(config.policy ? { policy: config.policy } : {}),
      requireAttestedClient: !!config.requireAttestedClient,
    });
    const att = attestation;
    const stop = async () => {
      await relay.close();
      await att.stop();
      await platform.close();
    };
    return { attestation: att, image, relay, handle, stop };
  } catch (e) {
    await relay.close().catch(() => undefined);
    await attestation?.stop().catch(() => undefined);
    await platform.close();
    throw e;
  }
}

/** `--collateral` (default: collateral.json beside the root file) → a source; a missing file is a usage error. */
async function collateralFlag(
  where: string | undefined,
  rootPath: string,
): Promise<{ where: string; source: CollateralSource }> {
  const { openCollateral } = await import('../../attestation/collateral/open.ts');
  const w = where ?? join(dirname(resolve(rootPath)), 'collateral.json');
  try {
    return { where: w, source: await openCollateral(w) };
  } catch (e) {
    throw new UsageError(
      `${(e as Error).message}${where ? '' : ' (the default is collateral.json beside --root, as `channel serve` writes it)'}`,
    );
  }
}

function acceptTcb(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return enumListFlag('accept-tcb', v, TCB_STATUSES);
}

const runtimeOf = (v: string | undefined) => {
  if (v === undefined) return 'isolated' as const;
  return enumFlag('runtime', v, ['isolated', 'inline'] as const);
};

export function register(program: Command): void {
  const channel = program
    .command('channel')
    .description('attested secure channels: RA-TLS terminated inside an emulated enclave');

  channel
    .command('serve')
    .description('run the example RA-TLS enclave (an echo service) behind a TCP listener')
    .requiredOption('--listen <host:port>', 'where to listen, e.g. 127.0.0.1:8443 (port 0: any free port)')
    .option('--require-attested-client', 'mutual mode: clients must present RA-TLS evidence')
    .option(
      '--client-policy <file>',
      'identity policy (JSON) for attested clients (default: any non-DEBUG enclave whose evidence verifies)',
    )
    .option(
      '--state <dir>',
      'keeps the emulated manufacturer (root CA) and the vendor key between runs; root.pem, root.der and collateral.json are written there (default: $XDG_STATE_HOME/catena/channel)',
    )
    .option('--runtime <kind>', 'isolated (worker) or inline', 'isolated')
    .option('--json', 'print one JSON document once listening')
    .action(
      async (o: {
        listen: string;
        requireAttestedClient?: boolean;
        clientPolicy?: string;
        state?: string;
        runtime?: string;
        json?: boolean;
      }) => {
        const { host, port } = hostPort('--listen', o.listen);
        const state = resolve(o.state ?? defaultStateDir('channel'));
        const { policy } = readPolicy(o.clientPolicy, false);
        const s = await startEnclave(state, runtimeOf(o.runtime), {
          policy,
          requireAttestedClient: !!o.requireAttestedClient,
        });
        const { writeTrustFiles } = await import('../../channel/default-attestation.ts');
        const files = await writeTrustFiles(state, s.attestation);
        const rootPath = files.rootPem;
        const addr = await s.relay.listen(port, host);
        const id = s.handle.identity;
        const hexs = (b: Uint8Array) => Buffer.from(b).toString('hex');
        const doc = {
          listening: `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
          port: addr.port,
          root: rootPath,
          rootDer: files.rootDer,
          collateral: files.collateral,
          evidence: s.attestation.kind === 'dcap' ? 'sgx-dcap-quote-v3' : s.attestation.kind,
          requireAttestedClient: !!o.requireAttestedClient,
          enclave: {
            mrEnclave: hexs(id.mrEnclave),
            mrSigner: hexs(id.mrSigner),
            isvProdId: id.isvProdId,
            isvSvn: id.isvSvn,
            runtime: s.handle.runtime,
          },
        };
        if (o.json) printJson(doc);
        else
          say(
            false,
            `RA-TLS enclave ${doc.enclave.mrEnclave} listening on ${doc.listening} (evidence: ${doc.evidence}; root: ${rootPath}; collateral: ${doc.collateral})`,
          );
        s.relay.on('secure', (cid: number, e: { peer: unknown }) =>
          process.stderr.write(`connection ${cid}: secure${e.peer ? `, client ${JSON.stringify(e.peer)}` : ''}\n`),
        );
        s.relay.on('refused', (cid: number, e: { code: string; check: string; message: string }) =>
          process.stderr.write(`connection ${cid}: refused ${e.code} (${e.check}): ${e.message}\n`),
        );
        await new Promise<void>((r) => {
          process.once('SIGINT', r);
          process.once('SIGTERM', r);
        });
        await s.stop();
      },
    );

  channel
    .command('connect')
    .description('connect to an RA-TLS server, verify its enclave during the handshake, print its identity')
    .argument('<host:port>', 'server address')
    .requiredOption(
      '--root <cert>',
      'trust anchor for the quotes (PEM or DER), e.g. the root.pem `channel serve` wrote',
    )
    .option(
      '--collateral <file|dir|url>',
      'DCAP collateral: a dcap-qvl collateral.json, a collateral directory or a PCS/PCCS URL (default: collateral.json beside --root)',
    )
    .option('--accept-tcb <statuses>', 'comma-separated TCB statuses to accept (default: UpToDate)')
    .option(
      '--policy <file>',
      'identity policy JSON: {"mrEnclave": [hex], "mrSigner": hex, "isvProdId": n, "minIsvSvn": n, "allowDebug": bool}',
    )
    .option('--allow-debug', 'accept a DEBUG enclave')
    .option('--at <time>', 'verification time: now, RFC 3339 or Unix seconds (default: now)')
    .option('--message <text>', 'send this after the handshake and print the reply')
    .option(
      '--enclave',
      'connect from inside an emulated client enclave with its own RA-TLS certificate (for --require-attested-client servers)',
    )
    .option(
      '--state <dir>',
      'with --enclave: state directory whose emulated manufacturer certifies the client platform (default: $XDG_STATE_HOME/catena/channel)',
    )
    .option('--timeout <seconds>', 'give up after this long', '15')
    .option('--json', 'print one JSON document')
    .action(
      async (
        target: string,
        o: {
          root: string;
          collateral?: string;
          acceptTcb?: string;
          policy?: string;
          allowDebug?: boolean;
          at?: string;
          message?: string;
          enclave?: boolean;
          state?: string;
          timeout: string;
          json?: boolean;
        },
      ) => {
        const { host, port } = hostPort('<host:port>', target);
        const ch = await import('../../channel/index.ts');
        const roots = readRoots(o.root, ch.certificatesFromFile);
        const accepted = acceptTcb(o.acceptTcb);
        const collateral = await collateralFlag(o.collateral, o.root);
        const { policy, described } = readPolicy(o.policy, o.allowDebug);
        const at = o.at ? timeFlag('at', o.at) : undefined;
        const timeoutMs = Math.max(1, Number(o.timeout) || 15) * 1000;
        const refuse = (e: { code?: string; check?: string; message: string }) => {
          if (e.code === 'ERR_CHANNEL_HANDSHAKE' && e.check === 'connect') throw new UsageError(e.message);
          setExit(EXIT.NEGATIVE);
          if (o.json)
            printJson({ verified: false, code: e.code, check: e.check, message: e.message, policy: described });
          else say(false, `REFUSED ${e.code} (check: ${e.check}): ${e.message}`);
        };
        if (o.enclave) {
          if (at) throw new UsageError('--at is not supported with --enclave (the enclave uses its own clock)');
          // The enclave rebuilds its validator from data: the collateral must be a collateral.json file.
          let json: string;
          try {
            json = readFileSync(collateral.where, 'utf8');
            JSON.parse(json);
          } catch (e) {
            throw new UsageError(
              `--collateral ${collateral.where}: with --enclave, a dcap-qvl collateral.json file is needed (${(e as Error).message})`,
            );
          }
          const s = await startEnclave(resolve(o.state ?? defaultStateDir('channel')), 'inline', {
            peers: ch.attestationSpecForRoots(roots, json, accepted ? { acceptedTcbStatuses: accepted } : {}),
          });
          try {
            const r = await s.relay.connect(host, port, policy).catch((e: Error) => {
              throw new UsageError(`cannot connect to ${target}: ${e.message}`);
            });
            if (r.event.type === 'refused') return refuse(r.event);
            let reply: string | undefined;
            if (o.message !== undefined) {
              const got = new Promise<string>((res, rej) => {
                const t = setTimeout(() => rej(new UsageError('no reply before --timeout')), timeoutMs);
                s.relay.once('data', (_id: number, b: Uint8Array) => {
                  clearTimeout(t);
                  res(Buffer.from(b).toString());
                });
              });
              await s.handle.ecall('channelWrite', r.id, new TextEncoder().encode(o.message));
              reply = await got;
            }
            report(o.json, {
              verified: true,
              peer: r.event.peer,
              policy: described,
              client: 'enclave',
              ...(reply !== undefined ? { reply } : {}),
            });
          } finally {
            await s.stop();
          }
          return;
        }
        let conn;
        try {
          conn = await ch.connectAttested({
            host,
            port,
            validator: ch.validatorForRoots(
              roots,
              collateral.source,
              accepted ? { acceptedTcbStatuses: accepted } : {},
            ),
            policy,
            ...(at ? { at } : {}),
            handshakeTimeoutMs: timeoutMs,
          });
        } catch (e) {
          if (e instanceof ch.ChannelError) return refuse(e);
          throw e;
        }
        const sock = conn.socket as unknown as import('node:tls').TLSSocket;
        let reply: string | undefined;
        if (o.message !== undefined) {
          reply = await new Promise<string>((res, rej) => {
            const t = setTimeout(() => rej(new UsageError('no reply before --timeout')), timeoutMs);
            sock.once('data', (d: Buffer) => {
              clearTimeout(t);
              res(d.toString());
            });
            sock.write(o.message!);
          });
        }
        const tlsInfo = { protocol: sock.getProtocol(), cipher: sock.getCipher().name };
        sock.end(); // graceful: our TLS Finished reaches the server before the close
        report(o.json, {
          verified: true,
          peer: conn.peer,
          tls: tlsInfo,
          policy: described,
          collateral: collateral.where,
          client: 'relying-party',
          ...(reply !== undefined ? { reply } : {}),
        });
      },
    );
}

function report(
  json: boolean | undefined,
  doc: { peer: PeerIdentity | null; policy: string; reply?: string; [k: string]: unknown },
): void {
  if (json) return printJson(doc);
  const p = doc.peer!;
  say(false, `verified enclave MRENCLAVE ${p.mrEnclave}`);
  say(false, `  MRSIGNER ${p.mrSigner}  ISVPRODID ${p.isvProdId}  ISVSVN ${p.isvSvn}  DEBUG ${p.debug}`);
  say(
    false,
    `  evidence ${p.evidenceKind ?? '?'}, root is Intel: ${p.rootIsIntel ?? '?'}${p.tcbStatus ? `, TCB ${p.tcbStatus}` : ''}; policy: ${doc.policy}`,
  );
  if (doc.reply !== undefined) say(false, `  reply: ${doc.reply}`);
}
