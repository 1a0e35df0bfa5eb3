// Overview and Audit views.
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
