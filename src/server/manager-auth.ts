import type { FastifyRequest } from 'fastify';
import type { Principal } from '../http/route-auth.ts';
import { attestedPeerOf } from '../channel/attested-http.ts';
import { ChannelError } from '../channel/errors.ts';
import type { PeerVerification } from '../channel/verify-peer.ts';
import type { Store } from '../store/types.ts';
import { ServerError } from './errors.ts';
import { findActiveToken } from './tokens.ts';
import { shareLookupsPerTurn } from './share-lookups.ts';

/** The bearer secret of an Authorization header, or undefined. */
export function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m?.[1];
}

/**
 * Who calls the manager: the holder of an active bearer token, or — on the agent TLS listener, without
 * a token — an agent whose RA-TLS client certificate `agentAttestation` accepts (role agent, bound to
 * no agent id: it may register new agents, not take over registered ones).
 */
export function managerAuthenticator(
  store: Store,
  clock: () => Date,
  agentAttestation?: PeerVerification,
): (req: FastifyRequest) => Promise<Principal | null> {
  // Requests with the same token in one turn of the event loop share one query (share-lookups.ts).
  const tokens = { findTokenByHash: shareLookupsPerTurn((hash) => store.findTokenByHash(hash)) };
  return async (req) => {
    const token = bearerOf(req);
    if (token !== undefined) {
      const row = await findActiveToken(tokens, token, clock());
      if (!row) throw new ServerError('ERR_UNAUTHENTICATED', 'unknown, expired or revoked token');
      return { id: row.id, role: row.role, ...(row.agentId ? { agentId: row.agentId } : {}) };
    }
    if (req.headers.authorization !== undefined)
      throw new ServerError('ERR_UNAUTHENTICATED', 'the Authorization header is not "Bearer <token>"');
    if (!agentAttestation) return null;
    let peer;
    try {
      peer = await attestedPeerOf(req.raw.socket, agentAttestation);
    } catch (e) {
      if (e instanceof ChannelError)
        throw new ServerError('ERR_PEER_REFUSED', `agent certificate refused: ${e.code}: ${e.message}`, e.check);
      throw e;
    }
    return peer ? { id: `ratls:${peer.certificateSha256?.slice(0, 16) ?? 'agent'}`, role: 'agent' } : null;
  };
}
