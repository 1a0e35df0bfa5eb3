// The manager's JSON API with the Bearer token; failures carry the problem+json the API answered.
import { getToken } from './token.ts';

export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  code?: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(
      `${problem.status} ${problem.code ?? ''} ${problem.title ?? ''}${problem.detail ? `: ${problem.detail}` : ''}`,
    );
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const token = init.token ?? getToken() ?? '';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    cache: 'no-store',
  });
  const text = await res.text();
  if (!res.ok) {
    let p: Problem = { status: res.status, title: res.statusText };
    try {
      p = { ...p, ...(JSON.parse(text) as Partial<Problem>) };
    } catch {
      // not problem+json: the status line says enough
    }
    throw new ApiError(p);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export const enc = encodeURIComponent;

export interface Identity {
  mrEnclave: string;
  mrSigner: string;
  isvProdId: number;
  isvSvn: number;
  attributes: string;
  debug: boolean;
}
export interface ElementDoc {
  id: string;
  kind: string;
  parent: string | null;
  platform: string;
  cloud?: string;
  identity?: Identity;
  fmspc?: string;
  tcbStatus?: string;
  advisoryIds?: string[];
}
export interface Health {
  state: string;
  cause?: string;
  since?: string;
  tcbStatus?: string;
  predictedTcbStatus?: string;
  predictedAt?: string;
}
export interface LinkDoc {
  type?: string;
  parent?: string | null;
  child?: string;
  signature?: string;
  appraisal?: { verdict?: string; tcbStatus?: string; advisoryIds?: string[] };
  [k: string]: unknown;
}
export interface ElementRow {
  id: string;
  seq?: number;
  parent?: string | null;
  status: string;
  element: ElementDoc;
  linkType?: string;
  link?: LinkDoc;
  agent?: string;
  revocation?: { reason?: string; at?: string } | null;
  health?: Health;
  createdAt?: string;
  updatedAt?: string;
}
export interface Chain {
  id: string;
  name: string;
  createdAt: string;
  emulatedRoot: boolean;
}
export interface Verify {
  valid: boolean;
  size: number;
  links: { local: number; remote: number };
  failures: { link: string; check: string; message: string }[];
  elements: Record<string, { valid: boolean; [k: string]: unknown }>;
  statuses: Record<string, string>;
  states?: Record<string, { state: string; cause?: string }>;
}
export interface Agent {
  id: string;
  cloud: string;
  url: string;
  status: string;
  lastSeen?: string;
}

/** Every element row of a chain (follows `next` when the API pages). */
export async function listElements(chain: string): Promise<ElementRow[]> {
  const out: ElementRow[] = [];
  let after: string | null = null;
  for (let i = 0; i < 10_000; i++) {
    const page: { elements: ElementRow[]; next?: string | null } = await api(
      `/v1/chains/${enc(chain)}/elements${after ? `?after=${enc(after)}` : ''}`,
    );
    out.push(...page.elements);
    after = page.next ?? null;
    if (!after) break;
  }
  return out;
}

/** An element's state as the dashboard shows it: revoked, else the self-management appraisal, else the verdict. */
export function stateOf(row: ElementRow, v: Verify | undefined): string {
  if (row.status === 'revoked') return 'revoked';
  if (row.health?.state) return row.health.state;
  const s = v?.states?.[row.id]?.state;
  if (s) return s;
  if (v?.elements[row.id] && !v.elements[row.id].valid) return 'degraded';
  if (row.status === 'unreachable') return 'stale';
  if (row.status === 'attestation-failed') return 'degraded';
  return 'valid';
}

export const STATES = ['valid', 'at-risk', 'degraded', 'stale', 'quarantined', 'revoked'] as const;
export const short = (s: string | null | undefined, n = 12): string =>
  !s ? '—' : s.length > n ? `${s.slice(0, n)}…` : s;
