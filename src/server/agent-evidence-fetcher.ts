import type { KeyObject } from 'node:crypto';
import { attestedHttpRequest } from '../channel/attested-http.ts';
import { ChannelError } from '../channel/errors.ts';
import type { PeerVerification } from '../channel/verify-peer.ts';
import { ServerError } from './errors.ts';
import { callJson, upstreamError } from './http-json.ts';
import { signManagerRequest } from './manager-request.ts';
import type { AgentEvidence, FetchEvidence } from './reattest.ts';

/**
 * Asks an agent for an element's fresh evidence. An https agent (the real ones) is reached over
 * RA-TLS — its certificate judged with `agentAttestation` before anything is sent — and the request
 * carries a manager request token (a JWT for that agent, src/server/manager-request.ts). Plain http
 * agent URLs (tests) get the same token over HTTP.
 */
export function agentEvidenceFetcher(
  privateKey: KeyObject,
  kid: string,
  verify: PeerVerification | undefined,
): FetchEvidence {
  return async (agent, elementId, chainId, nonce) => {
    const agentUrl = agent.url;
    const url = new URL(`/v1/elements/${encodeURIComponent(elementId)}/evidence`, agentUrl);
    const token = await signManagerRequest(privateKey, kid, agent.id);
    const body = { chain: chainId, nonce };
    if (url.protocol !== 'https:') return callJson<AgentEvidence>(url.toString(), { body, token, timeoutMs: 10_000 });
    if (!verify)
      throw new ServerError(
        'ERR_AGENT',
        `${agentUrl}: an https agent is verified by RA-TLS, and this manager has no agent attestation configured (--agent-mrsigner, --trust-root, --collateral)`,
      );
    let res;
    try {
      res = await attestedHttpRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        verify,
        timeoutMs: 10_000,
      });
    } catch (e) {
      throw new ServerError(
        'ERR_AGENT',
        `${agentUrl}: ${(e as Error).message}`,
        e instanceof ChannelError ? `peer.${e.check}` : undefined,
      );
    }
    if (res.status !== 200) throw upstreamError(url, res.status, res.body);
    return JSON.parse(res.body) as AgentEvidence;
  };
}
