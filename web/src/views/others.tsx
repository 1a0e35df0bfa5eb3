// Overview, Platforms, Events and Audit views.
import { useEffect, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  enc,
  listElements,
  short,
  stateOf,
  STATES,
  type Agent,
  type Chain,
  type Verify,
} from '../api.ts';
import type { LiveEvent } from '../events.ts';

interface ChainSummary {
  chain: Chain;
  verify?: Verify;
  clouds: Map<string, Map<string, number>>;
  states: Map<string, number>;
}

/** Clouds → platforms → elements, chains with their verdicts, counts by state. */
export function Overview({ chains, onOpen }: { chains: Chain[]; onOpen: (id: string) => void }) {
  const [sums, setSums] = useState<ChainSummary[] | undefined>();
  useEffect(() => {
    void (async () => {
      const agents = new Map(
        (await api<{ agents: Agent[] }>('/v1/agents').catch(() => ({ agents: [] }))).agents.map((a) => [a.id, a]),
      );
      const out: ChainSummary[] = [];
      for (const chain of chains.slice(0, 20)) {
        const [rows, verify] = await Promise.all([
          listElements(chain.id).catch(() => []),
          api<Verify>(`/v1/chains/${enc(chain.id)}/verify`).catch(() => undefined),
        ]);
        const clouds = new Map<string, Map<string, number>>();
        const states = new Map<string, number>();
        for (const r of rows) {
          const c = r.element.cloud ?? (r.agent ? agents.get(r.agent)?.cloud : undefined) ?? 'unknown cloud';
          const ps = clouds.get(c) ?? new Map<string, number>();
          ps.set(r.element.platform, (ps.get(r.element.platform) ?? 0) + 1);
          clouds.set(c, ps);
          const s = stateOf(r, verify);
          states.set(s, (states.get(s) ?? 0) + 1);
        }
        out.push({ chain, verify, clouds, states });
      }
      setSums(out);
    })();
  }, [chains]);
  if (!sums) return <p role="status">Loading the overview…</p>;
  return (
    <section aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      {sums.length === 0 ? <p>No chains yet.</p> : null}
      {sums.map((s) => (
        <article key={s.chain.id} class="card">
          <h3>
            <button type="button" class="link" onClick={() => onOpen(s.chain.id)}>
              {s.chain.name} <span class="mono">{s.chain.id}</span>
            </button>
          </h3>
          <p>
            Verdict:{' '}
            <strong class={s.verify?.valid ? 'ok' : 'bad'}>
              {s.verify ? (s.verify.valid ? 'valid' : 'not valid') : 'unknown'}
            </strong>
            {' — '}
            {STATES.map((st) => `${st} ${s.states.get(st) ?? 0}`).join(', ')}
          </p>
          <ul>
            {[...s.clouds].map(([c, ps]) => (
              <li key={c}>
                {c}: {ps.size} platform{ps.size === 1 ? '' : 's'}
                <ul>
                  {[...ps].map(([p, n]) => (
                    <li key={p}>
                      platform <span class="mono">{short(p, 16)}</span>: {n} element{n === 1 ? '' : 's'}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </article>
      ))}
    </section>
  );
}

interface Platform {
  ppid: string;
  agent?: string;
  cloud?: string;
  status?: string;
  chains?: { chain: string; fmspc?: string; tcbStatus?: string; advisoryIds?: string[] }[];
}

/** TCB per platform, with the explanation on request. */
export function Platforms() {
  const [list, setList] = useState<Platform[] | undefined>();
  const [why, setWhy] = useState<Record<string, string>>({});
  useEffect(() => {
    void api<{ platforms: Platform[] } | Platform[]>('/v1/platforms')
      .then((r) => setList(Array.isArray(r) ? r : r.platforms))
      .catch((e: Error) => {
        setList([]);
        setWhy({ '': e.message });
      });
  }, []);
  const explain = async (ppid: string) => {
    try {
      const r = await api<unknown>(`/v1/platforms/${enc(ppid)}/tcb-status`);
      setWhy((w) => ({ ...w, [ppid]: JSON.stringify(r, null, 1) }));
    } catch (e) {
      setWhy((w) => ({ ...w, [ppid]: e instanceof ApiError ? JSON.stringify(e.problem) : String(e) }));
    }
  };
  if (!list) return <p role="status">Loading platforms…</p>;
  return (
    <section aria-labelledby="platforms-title">
      <h2 id="platforms-title">Platforms</h2>
      <table>
        <caption>Registered platforms and the TCB status each chain recorded for them</caption>
        <thead>
          <tr>
            <th scope="col">PPID</th>
            <th scope="col">Cloud</th>
            <th scope="col">Status</th>
            <th scope="col">FMSPC</th>
            <th scope="col">TCB status</th>
            <th scope="col">Advisories</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {list.map((p) => (
            <tr key={p.ppid}>
              <td class="mono">{short(p.ppid, 16)}</td>
              <td>{p.cloud ?? '—'}</td>
              <td>{p.status ?? '—'}</td>
              <td class="mono">{p.chains?.map((c) => c.fmspc ?? '—').join(', ') || '—'}</td>
              <td>{p.chains?.map((c) => c.tcbStatus ?? '—').join(', ') || '—'}</td>
              <td>{p.chains?.flatMap((c) => c.advisoryIds ?? []).join(', ') || '—'}</td>
              <td>
                <button type="button" onClick={() => void explain(p.ppid)}>
                  Explain <span class="sr-only">TCB status of {short(p.ppid, 16)}</span>
                </button>
                {why[p.ppid] ? <pre class="explain">{why[p.ppid]}</pre> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The live timeline of /v1/events, newest first. */
export function Events({ events }: { events: LiveEvent[] }) {
  return (
    <section aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      <p>Live from the manager's event stream (newest first; {events.length} since this page opened).</p>
      <ol class="timeline" aria-live="polite">
        {[...events].reverse().map((e) => (
          <li key={e.id} data-event-type={e.type}>
            <time>{e.data.at ?? ''}</time> <strong>{e.type}</strong>
            {e.data.chain ? (
              <>
                {' '}
                chain <span class="mono">{short(e.data.chain, 10)}</span>
              </>
            ) : null}
            {e.data.element ? (
              <>
                {' '}
                element <span class="mono">{short(e.data.element, 10)}</span>
              </>
            ) : null}
            {typeof e.data.ms === 'number' ? ` (${e.data.ms} ms)` : ''}
            {typeof e.data.state === 'string' ? ` → ${e.data.state}` : ''}
            {typeof e.data.status === 'string' ? ` → ${e.data.status}` : ''}
            {typeof e.data.reason === 'string' ? ` — ${e.data.reason}` : ''}
          </li>
        ))}
      </ol>
    </section>
  );
}

interface AuditRecord {
  seq: number;
  at?: string;
  action?: string;
  type?: string;
  actor?: string;
  chain?: string;
  [k: string]: unknown;
}

/** The audit log, paged, and the signed checkpoints (admin). */
export function Audit() {
  const [page, setPage] = useState<{ records: AuditRecord[]; next: number | string | null } | undefined>();
  const [after, setAfter] = useState<number | string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [checkpoints, setCheckpoints] = useState<string | undefined>();
  useEffect(() => {
    void api<{ records: AuditRecord[]; next: number | string | null }>(
      `/v1/audit?limit=50${after !== undefined ? `&afterSeq=${enc(String(after))}` : ''}`,
    )
      .then(setPage)
      .catch((e: Error) => setError(e instanceof ApiError ? JSON.stringify(e.problem) : e.message));
  }, [after]);
  const verify = async () => {
    try {
      const r = await api<{ keyId: string; checkpoints: unknown[] }>('/v1/audit/checkpoints');
      const last = r.checkpoints[r.checkpoints.length - 1];
      setCheckpoints(
        `${r.checkpoints.length} signed checkpoint(s), key ${r.keyId}; latest: ${JSON.stringify(last ?? null, null, 1)}`,
      );
    } catch (e) {
      setCheckpoints(e instanceof ApiError ? JSON.stringify(e.problem) : String(e));
    }
  };
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit</h2>
      {error ? <p role="alert">The audit log needs an admin token: {error}</p> : null}
      <button type="button" onClick={() => void verify()}>
        Verify (checkpoints)
      </button>
      {checkpoints ? <pre role="status">{checkpoints}</pre> : null}
      {page ? (
        <>
          <table>
            <caption>Audit records</caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">Time</th>
                <th scope="col">Action</th>
                <th scope="col">Record</th>
              </tr>
            </thead>
            <tbody>
              {page.records.map((r) => (
                <tr key={r.seq}>
                  <td>{r.seq}</td>
                  <td>{r.at ?? ''}</td>
                  <td>{r.action ?? r.type ?? ''}</td>
                  <td class="mono wrap">{JSON.stringify(r).slice(0, 200)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.next !== null && page.next !== undefined ? (
            <button type="button" onClick={() => setAfter(page.next ?? undefined)}>
              Next page
            </button>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
