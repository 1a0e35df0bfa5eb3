import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { constants as cryptoConstants } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { ChannelError } from './errors.ts';
import { startAttestedTls } from './tls.ts';
import { verifyRatlsCertificate, type PeerVerification } from './verify-peer.ts';
import { CHECK, type PeerIdentity } from './types.ts';

/*
 * HTTP over RA-TLS, for services whose TLS terminates in the host process (the agent API):
 * - attestedHttpRequest: a client that connects, verifies the server's RA-TLS certificate during the
 *   handshake (validator + policy, docs/channel.md "Verification") and only then writes the request.
 *   With `credentials` it presents its own RA-TLS certificate (mutual mode).
 * - ratlsHttpsOptions: node:https / fastify `https` options for a server with an RA-TLS certificate
 *   that asks for (but does not require) a client certificate: clients without one authenticate at
 *   the HTTP layer (bearer token), clients with one are judged by attestedPeerOf.
 * - attestedPeerOf: the verified identity behind a server-side TLS socket's client certificate.
 */

export interface AttestedRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** How the server is judged (required: nothing is sent to an unverified server). */
  verify: PeerVerification;
  /** Our own RA-TLS key and certificate (PEM): presented as the client certificate. */
  credentials?: { keyPem: string; certPem: string };
  /** Whole request, handshake included. Default 30 s. */
  timeoutMs?: number;
  /** Largest response body accepted (bytes). Default 8 MiB. */
  maxBodyBytes?: number;
}

export interface AttestedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The verified server. */
  peer: PeerIdentity;
}

/** One HTTPS request over a fresh RA-TLS connection (closed afterwards). Refusals reject with ChannelError. */
export async function attestedHttpRequest(url: string | URL, o: AttestedRequestOptions): Promise<AttestedResponse> {
  const u = new URL(url);
  if (u.protocol !== 'https:')
    throw new ChannelError('ERR_CHANNEL_STATE', 'url', `RA-TLS needs an https URL, got ${u.protocol}`);
  if (!o?.verify)
    throw new ChannelError(
      'ERR_CHANNEL_STATE',
      CHECK.peerCertificate,
      'a client must verify the server (validator + policy)',
    );
  const timeoutMs = o.timeoutMs ?? 30_000;
  const started = Date.now();
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 443);
  const tcp = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host, port, noDelay: true }); // small TLS flights: no Nagle delay
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no connection in ${timeoutMs} ms`)));
    s.once('connect', () => {
      s.setTimeout(0);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) =>
      reject(
        new ChannelError('ERR_CHANNEL_HANDSHAKE', 'connect', `cannot connect to ${host}:${port}: ${e.message}`, {
          cause: e,
        }),
      ),
    );
  });
  const stream = await startAttestedTls(tcp, {
    role: 'client',
    verify: o.verify,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    handshakeTimeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
  });
  const peer = stream.peer!;
  const maxBody = o.maxBodyBytes ?? 8 * 1024 * 1024;
  try {
    return await new Promise<AttestedResponse>((resolve, reject) => {
      const body = o.body !== undefined ? Buffer.from(o.body) : undefined;
      const req = httpRequest(
        {
          method: o.method ?? (body ? 'POST' : 'GET'),
          path: `${u.pathname}${u.search}`,
          headers: {
            host: u.host,
            connection: 'close',
            ...(o.headers ?? {}),
            ...(body ? { 'content-length': String(body.length) } : {}),
          },
          // The stream is already verified: the request is written only now.
          createConnection: () => stream,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBody) req.destroy(new Error(`response larger than ${maxBody} bytes`));
            else chunks.push(c);
          });
          res.once('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              peer,
            }),
          );
          res.once('error', reject);
        },
      );
      req.setTimeout(Math.max(1, timeoutMs - (Date.now() - started)), () =>
        req.destroy(new Error(`no answer in ${timeoutMs} ms`)),
      );
      req.once('error', reject);
      req.end(body);
    });
  } finally {
    stream.destroy();
  }
}

/**
 * node:https (and fastify's `https`) server options for an RA-TLS certificate: TLS 1.3 only, a client
 * certificate requested but optional, Node's chain check off (RA-TLS certificates are self-signed; the
 * client's is judged by attestedPeerOf), no session tickets (every connection presents its certificate).
 */
export function ratlsHttpsOptions(credentials: { keyPem: string; certPem: string }) {
  return {
    key: credentials.keyPem,
    cert: credentials.certPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: false,
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
  } as const;
}

const peers = new WeakMap<object, Promise<PeerIdentity | null>>();

/**
 * The verified identity behind a server-side socket's client certificate: null when the socket is
 * not TLS or the client sent no certificate; a ChannelError (rejected promise) when it sent one that
 * fails verification. Judged once per connection (the certificate cannot change on it).
 */
export function attestedPeerOf(socket: unknown, verify: PeerVerification): Promise<PeerIdentity | null> {
  const s = socket as Partial<TLSSocket> | null;
  if (!s || typeof s !== 'object' || typeof s.getPeerX509Certificate !== 'function') return Promise.resolve(null);
  let p = peers.get(s);
  if (!p) {
    const cert = s.getPeerX509Certificate();
    p = cert ? verifyRatlsCertificate(new Uint8Array(cert.raw), verify) : Promise.resolve(null);
    peers.set(s, p);
  }
  return p;
}
