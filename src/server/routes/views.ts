import type { AgentRow, ChainRow, ElementRow, TokenRow } from '../../store/types.ts';
import type { ElementRecord, StoredAnchor, StoredPolicy } from '../chain-service.ts';

/** How stored rows are shown by the API (docs/api.md). */
export function chainView(row: ChainRow) {
  const a = row.anchor as StoredAnchor;
  const p = row.policy as StoredPolicy;
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    rootSha256: a.header.rootSha256,
    emulatedRoot: a.header.emulatedRoot,
    ownerKey: a.header.ownerKey,
    policy: p.policy,
  };
}

export function elementView(row: ElementRow) {
  const r = row.record as ElementRecord;
  return {
    id: row.id,
    seq: row.seq,
    parent: row.parentId,
    status: row.status,
    element: r.element,
    linkType: r.link.type,
    link: r.link,
    ...(r.agent ? { agent: r.agent } : {}),
    ...(r.revocation ? { revocation: r.revocation } : {}),
    ...(r.health ? { health: r.health } : {}),
    evidenceHashes: row.evidenceHashes,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function agentView(a: AgentRow) {
  return {
    id: a.id,
    cloud: a.cloud,
    url: a.url,
    status: a.status,
    info: a.info,
    lastSeen: a.lastSeen.toISOString(),
    registeredAt: a.registeredAt.toISOString(),
  };
}

/** A token as listed: never its hash. */
export function tokenView(t: TokenRow) {
  return {
    id: t.id,
    role: t.role,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    agentId: t.agentId ?? null,
  };
}
