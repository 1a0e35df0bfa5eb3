import { request as httpsRequest } from 'node:https';

/**
 * Liveness of an https agent whose certificate the manager cannot judge (no trusted root or
 * collateral given): TLS 1.3 up and GET /healthz answering 200. Says nothing about attestation.
 */
export function httpsLiveness(url: URL, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      url,
      { method: 'GET', minVersion: 'TLSv1.3', rejectUnauthorized: false, agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200));
        res.once('error', () => resolve(false));
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => resolve(false));
    req.end();
  });
}
