import { createServer, type Server } from 'node:https';
import { createPrivateKey, webcrypto, X509Certificate, constants as cryptoConstants } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { selfSignedCertificate } from '../formats/self-signed-certificate.ts';
import { basicConstraints, extension, KEY_USAGE, keyUsageBits } from '../formats/x509-writer.ts';
import { applyServerLimits, resolveLimits, type ServerLimits } from '../http/limits.ts';

/**
 * The manager's agent TLS listener: the same manager app behind HTTPS that asks every client for a
 * certificate (optional: admins keep using bearer tokens). An agent presenting its RA-TLS certificate
 * is verified by the manager's `agentAttestation` (manager.ts auth hook) and registers without a token.
 * The listener's own certificate is self-signed (the manager is not an enclave): agents pin it
 * (`catena agent --manager-cert`), so it is published as `certificate` (DER) and `certPem`.
 */
export interface AgentTlsListener {
  url: string;
  certificate: Uint8Array;
  certPem: string;
  server: Server;
  close(): Promise<void>;
}

export async function listenAgentTls(
  app: FastifyInstance,
  host: string,
  port: number,
  limits: Partial<ServerLimits> = {},
): Promise<AgentTlsListener> {
  await app.ready();
  const alg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const der = selfSignedCertificate({
    commonName: 'Catena manager (agent listener)',
    organization: 'Catena',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    spki: new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey)),
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    extensions: [
      extension('2.5.29.19', true, basicConstraints(false)),
      extension('2.5.29.15', false, keyUsageBits(KEY_USAGE.digitalSignature)),
    ],
  });
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  const certPem = new X509Certificate(der).toString() + '\n';
  const server = createServer(
    {
      key: keyPem,
      cert: certPem,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false, // RA-TLS certificates are self-signed: the auth hook judges them
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
    },
    (req, res) => app.routing(req, res),
  );
  // The same limits as the manager's own listener; routes and their authorization are the app's.
  applyServerLimits(server, resolveLimits(limits));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    certificate: der,
    certPem,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
