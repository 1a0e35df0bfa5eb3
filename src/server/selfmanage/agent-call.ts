import type { KeyObject } from 'node:crypto';
import type { PeerVerification } from '../../channel/verify-peer.ts';
import { callJson } from '../http-json.ts';
import { MIGRATE_SCOPE, signManagerRequest } from '../manager-request.ts';
import type { CallAgent } from './migrate.ts';

/**
 * Manager → agent calls of a migration: each carries a fresh manager request token of the migrate
 * scope for that agent (one use, 60 s), and an https agent is reached over RA-TLS only, its
 * certificate judged with `verify` before anything is sent. A GET when there is no body.
 */
export function agentCaller(
  privateKey: KeyObject,
  kid: string,
  verify: PeerVerification | undefined,
  clock: () => Date,
  timeoutMs = 15_000,
): CallAgent {
  return async <T>(agent: { id: string; url: string }, path: string, body?: unknown): Promise<T> => {
    const token = await signManagerRequest(privateKey, kid, agent.id, clock(), MIGRATE_SCOPE);
    return callJson<T>(new URL(path, agent.url).toString(), {
      ...(body !== undefined ? { body } : {}),
      token,
      timeoutMs,
      ...(verify ? { ratls: { verify } } : {}),
    });
  };
}
