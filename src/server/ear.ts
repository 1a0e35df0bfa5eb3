import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { EAR_PROFILE } from '../attestation/ear.ts';
import type { ChainVerification } from '../chain/types.ts';
import type { Reattestation } from './reattestation.ts';

/** Signs EAR results (JWT, ES256) of chain verifications and re-attestations with the manager key. */
export interface EarSigner {
  chain(chainId: string, v: ChainVerification, at: Date, statuses: Record<string, string>): Promise<string>;
  element(chainId: string, elementId: string, r: { result: Reattestation; emulatedRoot: boolean }): Promise<string>;
}

export function earSigner(privateKey: KeyObject, kid: string, clock: () => Date): EarSigner {
  const sign = (submods: Record<string, unknown>) =>
    new SignJWT({
      eat_profile: EAR_PROFILE,
      'ear.verifier-id': { developer: 'catena', build: 'catena-manager/1' },
      submods,
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuedAt(Math.floor(clock().getTime() / 1000))
      .setIssuer('catena-manager')
      .sign(privateKey);
  return {
    chain(chainId, v, at, statuses) {
      // An element whose re-attestation was refused contraindicates the chain even though every link verifies.
      const failed = Object.values(statuses).filter((s) => s === 'attestation-failed').length;
      return sign({
        [`chain:${chainId}`]: {
          'ear.status': v.valid && failed === 0 ? (v.emulatedRoot ? 'warning' : 'affirming') : 'contraindicated',
          'catena.chain': {
            id: chainId,
            valid: v.valid,
            size: v.size,
            links: v.links,
            failures: v.failures.length,
            attestationFailed: failed,
            emulatedRoot: v.emulatedRoot,
            at: at.toISOString(),
          },
        },
      });
    },
    element(chainId, elementId, r) {
      return sign({
        [`element:${elementId}`]: {
          'ear.status':
            r.result.verdict === 'affirmed' ? (r.emulatedRoot ? 'warning' : 'affirming') : 'contraindicated',
          'catena.reattestation': { chain: chainId, element: elementId, ...r.result },
        },
      });
    },
  };
}
