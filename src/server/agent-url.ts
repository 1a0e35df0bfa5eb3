import { ServerError } from './errors.ts';

/** Which agent URLs the manager accepts at registration (and will therefore call). */
export interface AgentHostPolicy {
  hosts: readonly string[];
}

/** Loopback only, unless the operator names hosts (`catena manager --agent-hosts`). */
export const DEFAULT_AGENT_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

/**
 * An agent URL the manager may health-check and call: `https:` (agents are reached over RA-TLS), no
 * credentials, path or query, a host on the allowlist (exact name or address, or `*.suffix`).
 * Refused otherwise (ERR_AGENT_URL), so a registration cannot aim the manager at another service.
 */
export function checkAgentUrl(raw: string, policy: AgentHostPolicy): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ServerError('ERR_AGENT_URL', `agent url: not a URL: ${raw.slice(0, 200)}`);
  }
  if (u.protocol !== 'https:')
    throw new ServerError(
      'ERR_AGENT_URL',
      `agent url: must be https (agents are reached over RA-TLS), got ${u.protocol}`,
    );
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    throw new ServerError('ERR_AGENT_URL', 'agent url: a base URL only (no credentials, path, query or fragment)');
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const ok = policy.hosts.some((h) => {
    const p = h.toLowerCase();
    return p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p;
  });
  if (!ok)
    throw new ServerError(
      'ERR_AGENT_URL',
      `agent url: host ${host} is not in the manager's --agent-hosts (${policy.hosts.join(', ')})`,
    );
  return u.origin;
}
