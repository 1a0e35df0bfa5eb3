// Platforms: one row per registered platform with its TCB — FMSPC, PCK CA, status, advisories, the SVNs
// in short, and the status predicted under early collateral (a staged TCB recovery) — from
// GET /v1/platforms and each platform's GET /v1/platforms/:ppid/tcb-status; "Why" explains it in words.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc, short } from '../api.ts';
import { levelText, shortComponents, shortfallText, type Judgement, type TcbStatusAnswer } from '../tcb.ts';

interface Platform {
  ppid: string;
  agent?: string;
  cloud?: string;
  status?: string;
  chains?: { chain: string; fmspc?: string; tcbStatus?: string; advisoryIds?: string[] }[];
}
/** A platform's tcb-status answer, or why there is none (404: no chain holds a quote from it). */
type Tcb = { ok: TcbStatusAnswer } | { none: string };

function Explanation({ t }: { t: TcbStatusAnswer }) {
  const x = t.tcbExplanation;
  const targets = (j: Judgement) =>
    [j.next, j.upToDate && j.upToDate.index !== j.next?.index ? j.upToDate : null].flatMap((l) =>
      l
        ? [
            <li
              key={l.index}
            >{`short of ${levelText(l)}: ${l.shortfalls.map(shortfallText).join('; ') || 'nothing'}`}</li>,
          ]
        : [],
    );
  return (
    <div class="explain">
      <p>
        Quote of element <span class="mono">{short(t.element, 16)}</span> (chain{' '}
        <span class="mono">{short(t.chain, 8)}</span>, {t.at}), TCB evaluation {x.tcbEvaluationDataNumber}:
      </p>
      <ul>
        <li>{x.matched ? `matches ${levelText(x.matched)}` : 'reaches no TCB level (rejected)'}</li>
        {targets(x)}
        {x.early ? (
          <li>
            {`under early collateral (TCB evaluation ${x.early.tcbEvaluationDataNumber}): ${x.early.tcbStatus ?? 'no level'}${x.early.changed ? ' — changes' : ' — unchanged'}`}
            <ul>{targets(x.early)}</ul>
          </li>
        ) : (
          <li>no early collateral staged</li>
        )}
      </ul>
    </div>
  );
}

export function Platforms() {
  const [list, setList] = useState<Platform[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [tcb, setTcb] = useState<Record<string, Tcb>>({});
  const [open, setOpen] = useState<Record<string, boolean>>({});
  useEffect(() => {
    void api<{ platforms: Platform[] }>('/v1/platforms')
      .then((r) => {
        setList(r.platforms);
        for (const p of r.platforms)
          void api<TcbStatusAnswer>(`/v1/platforms/${enc(p.ppid)}/tcb-status`)
            .then((t) => setTcb((m) => ({ ...m, [p.ppid]: { ok: t } })))
            .catch((e: Error) =>
              setTcb((m) => ({
                ...m,
                [p.ppid]: {
                  none:
                    e instanceof ApiError && e.problem.status === 404
                      ? 'no quote held'
                      : JSON.stringify(e instanceof ApiError ? e.problem : e.message),
                },
              })),
            );
      })
      .catch((e: Error) => {
        setList([]);
        setError(e instanceof ApiError ? JSON.stringify(e.problem) : e.message);
      });
  }, []);
  if (!list) return <p role="status">Loading platforms…</p>;
  return (
    <section aria-labelledby="platforms-title">
      <h2 id="platforms-title">Platforms</h2>
      {error ? (
        <p role="alert" class="problem">
          {error}
        </p>
      ) : null}
      <table class="platforms">
        <caption>
          Registered platforms: the TCB of the newest quote a chain holds from each, and its status predicted under
          early collateral
        </caption>
        <thead>
          <tr>
            <th scope="col">PPID</th>
            <th scope="col">Cloud</th>
            <th scope="col">Agent status</th>
            <th scope="col">FMSPC</th>
            <th scope="col">CA</th>
            <th scope="col">TCB status</th>
            <th scope="col">Advisories</th>
            <th scope="col">Components</th>
            <th scope="col">Predicted (early)</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {list.map((p) => {
            const t = tcb[p.ppid];
            const x = t && 'ok' in t ? t.ok.tcbExplanation : undefined;
            const recorded = p.chains ?? [];
            return (
              <tr key={p.ppid} data-ppid={p.ppid}>
                <th scope="row" class="mono">
                  {short(p.ppid, 16)}
                </th>
                <td>{p.cloud ?? '—'}</td>
                <td>{p.status ?? '—'}</td>
                <td class="mono">{x?.fmspc ?? (recorded.map((c) => c.fmspc ?? '—').join(', ') || '—')}</td>
                <td>{t && 'ok' in t ? t.ok.pckCa : '—'}</td>
                <td>{x?.tcbStatus ?? (recorded.map((c) => c.tcbStatus ?? '—').join(', ') || '—')}</td>
                <td>
                  {(x ? x.advisoryIds : [...new Set(recorded.flatMap((c) => c.advisoryIds ?? []))]).join(', ') ||
                    'none'}
                </td>
                <td class="mono">{x ? shortComponents(x.platform) : t && 'none' in t ? t.none : '…'}</td>
                <td>
                  {x
                    ? x.early
                      ? `${x.early.tcbStatus ?? 'no level'}${x.early.changed ? ' (changes)' : ''}`
                      : 'no early collateral'
                    : '—'}
                </td>
                <td>
                  {t && 'ok' in t ? (
                    <button
                      type="button"
                      aria-expanded={open[p.ppid] ? 'true' : 'false'}
                      onClick={() => setOpen((o) => ({ ...o, [p.ppid]: !o[p.ppid] }))}
                    >
                      Why <span class="sr-only">platform {short(p.ppid, 16)} has this TCB status</span>
                    </button>
                  ) : null}
                  {open[p.ppid] && t && 'ok' in t ? <Explanation t={t.ok} /> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
