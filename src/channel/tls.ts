import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { ChannelError } from './errors.ts';
import { RatlsCertificateReader } from './ratls-cert.ts';
import { verifyRatlsCertificate, type PeerVerification } from './verify-peer.ts';
import { CHECK, type AttestedStream, type ChannelPolicy, type PeerIdentity, type QuoteValidator } from './types.ts';

/**
 * RA-TLS over node:tls, on any Duplex transport: a TCP socket on the host, or — inside an enclave —
 * a pipe whose bytes come in by ECALL and leave by OCALL (src/channel/enclave-endpoint.ts), so the
 * host only ever relays ciphertext.
 *
 * TLS 1.3 only. Node's chain validation is off (`rejectUnauthorized: false`: RA-TLS certificates are
 * self-signed by design); TLS itself still proves the peer holds the certificate's key
 * (CertificateVerify). When the handshake completes, and before the stream is handed to the
 * application, the peer certificate goes through verifyRatlsCertificate (validator + policy). On
 * failure the socket is destroyed — no application byte is read or written — and the promise
 * rejects with a ChannelError naming the failed check. A server that requires an attested client
 * sends CertificateRequest; a client without a certificate is refused (ERR_CHANNEL_NO_PEER_CERTIFICATE).
 */
export interface AttestedTlsOptions {
  role: 'server' | 'client';
  /** Our RA-TLS key and certificate (PEM). Required for a server; a client with them can do mutual TLS. */
  credentials?: { keyPem: string; certPem: string };
  /** How to verify the peer. Required for a client; on a server it means "require an attested client". */
  verify?: PeerVerification;
  servername?: string;
  /** Default 15 s. */
  handshakeTimeoutMs?: number;
  /** attestedSecureContext(credentials), built once by an endpoint that handshakes many times; default: built per call. */
  secureContext?: tls.SecureContext;
}

const TLS13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;

/**
 * The SecureContext of a TLS 1.3 endpoint with these credentials (none: a client without a
 * certificate). Building it parses the key and the certificate: an endpoint that makes many
 * handshakes with the same credentials builds it once and passes it (AttestedTlsOptions.secureContext).
 */
export function attestedSecureContext(c?: { keyPem: string; certPem: string }): tls.SecureContext {
  return tls.createSecureContext({ ...(c ? { key: c.keyPem, cert: c.certPem } : {}), ...TLS13 });
}

export function startAttestedTls(transport: Duplex, opts: AttestedTlsOptions): Promise<AttestedStream> {
  if (opts.role === 'server' && !opts.credentials)
    throw new ChannelError('ERR_CHANNEL_STATE', CHECK.certificate, 'a server needs RA-TLS credentials');
  if (opts.role === 'client' && !opts.verify)
    throw new ChannelError(
      'ERR_CHANNEL_STATE',
      CHECK.peerCertificate,
      'a client must verify the server (validator + policy)',
    );
  const secureContext = opts.secureContext ?? attestedSecureContext(opts.credentials);
  const sock: tls.TLSSocket =
    opts.role === 'server'
      ? new tls.TLSSocket(transport, {
          isServer: true,
          secureContext,
          requestCert: !!opts.verify,
          rejectUnauthorized: false,
        })
      : tls.connect({
          socket: transport,
          secureContext,
          rejectUnauthorized: false,
          servername: opts.servername ?? 'catena-enclave',
        });

  return new Promise<AttestedStream>((resolve, reject) => {
    let settled = false;
    const fail = (err: ChannelError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      transport.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () =>
        fail(
          new ChannelError(
            'ERR_CHANNEL_HANDSHAKE',
            'handshake',
            `TLS handshake did not complete in ${opts.handshakeTimeoutMs ?? 15_000} ms`,
          ),
        ),
      opts.handshakeTimeoutMs ?? 15_000,
    );
    timer.unref?.();
    sock.once('error', (e: Error) =>
      fail(new ChannelError('ERR_CHANNEL_HANDSHAKE', 'handshake', `TLS: ${e.message}`, { cause: e })),
    );
    sock.once('close', () =>
      fail(
        new ChannelError(
          'ERR_CHANNEL_HANDSHAKE',
          'handshake',
          'the peer closed the connection during the handshake (it may have refused our evidence)',
        ),
      ),
    );
    const onSecure = async () => {
      if (settled) return;
      if (sock.getProtocol() !== 'TLSv1.3')
        return fail(
          new ChannelError('ERR_CHANNEL_HANDSHAKE', 'handshake', `negotiated ${sock.getProtocol()}, not TLSv1.3`),
        );
      let peer: PeerIdentity | null = null;
      if (opts.verify) {
        const cert = sock.getPeerX509Certificate();
        if (!cert)
          return fail(
            new ChannelError(
              'ERR_CHANNEL_NO_PEER_CERTIFICATE',
              CHECK.peerCertificate,
              'the peer presented no certificate',
            ),
          );
        try {
          peer = await verifyRatlsCertificate(new Uint8Array(cert.raw), opts.verify);
        } catch (e) {
          return fail(
            e instanceof ChannelError
              ? e
              : new ChannelError('ERR_CHANNEL_EVIDENCE', CHECK.validator, (e as Error).message, { cause: e }),
          );
        }
      }
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.removeAllListeners('close');
      sock.removeAllListeners('error');
      sock.on('error', () => {
        /* after the handshake, errors surface to the application through 'close'/'error' listeners it adds */
      });
      Object.defineProperties(sock, {
        peer: { value: peer, enumerable: true },
        channel: { value: 'ra-tls', enumerable: true },
      });
      resolve(sock as unknown as AttestedStream);
    };
    sock.once(opts.role === 'server' ? 'secure' : 'secureConnect', () => void onSecure());
  });
}

export interface ConnectAttestedOptions {
  host: string;
  port: number;
  validator: QuoteValidator;
  policy: ChannelPolicy;
  /** Verification time (default: now). */
  at?: Date | (() => Date);
  /** Present our own RA-TLS certificate (mutual mode). */
  credentials?: { keyPem: string; certPem: string };
  handshakeTimeoutMs?: number;
  /** A caller that connects many times keeps these: attestedSecureContext(credentials), and the server certificates it parsed. */
  secureContext?: tls.SecureContext;
  certificates?: RatlsCertificateReader;
}

/** A relying party (enclave or not) connects over TCP and verifies the server during the handshake. */
export async function connectAttested(
  o: ConnectAttestedOptions,
): Promise<{ socket: AttestedStream; peer: PeerIdentity }> {
  const tcp = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host: o.host, port: o.port, noDelay: true }); // small TLS flights: no Nagle delay
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (e) =>
      reject(
        new ChannelError('ERR_CHANNEL_HANDSHAKE', 'connect', `cannot connect to ${o.host}:${o.port}: ${e.message}`, {
          cause: e,
        }),
      ),
    );
  });
  const socket = await startAttestedTls(tcp, {
    role: 'client',
    verify: {
      validator: o.validator,
      policy: o.policy,
      ...(o.at ? { at: o.at } : {}),
      ...(o.certificates ? { certificates: o.certificates } : {}),
    },
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.secureContext ? { secureContext: o.secureContext } : {}),
    ...(o.handshakeTimeoutMs ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
  });
  return { socket, peer: socket.peer! };
}

export interface AttestedServerOptions {
  credentials: { keyPem: string; certPem: string };
  /** Require and verify an attested client. */
  verifyClient?: PeerVerification;
  handshakeTimeoutMs?: number;
  onError?: (err: ChannelError, tcp: Socket) => void;
}

/**
 * An RA-TLS server terminated in THIS process (no enclave boundary) — for relying parties, tests
 * and benchmarks. Enclaves terminate TLS inside themselves with EnclaveTlsEndpoint instead.
 * The caller listens: `createAttestedServer(...).listen(port, '127.0.0.1')`.
 */
export function createAttestedServer(o: AttestedServerOptions, onStream: (s: AttestedStream) => void): Server {
  // Built once for the server's life: its TLS context, and the client certificates it has parsed.
  const secureContext = attestedSecureContext(o.credentials);
  const verify = o.verifyClient && { certificates: new RatlsCertificateReader(), ...o.verifyClient };
  return createServer((tcp) => {
    startAttestedTls(tcp, {
      role: 'server',
      credentials: o.credentials,
      secureContext,
      ...(verify ? { verify } : {}),
      ...(o.handshakeTimeoutMs ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
    }).then(onStream, (e: ChannelError) => o.onError?.(e, tcp));
  });
}
