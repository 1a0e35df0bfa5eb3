// One element's details: identity, TCB status, evidence age, health, its link and its verdict; admin
// actions (revoke with a reason, re-attest) after an explicit confirmation, the API's problem shown on failure.
import { useState } from 'preact/hooks';
import { api, ApiError, enc, type ElementRow, type Verify } from '../api.ts';

const age = (t: string | undefined) => {
  if (!t) return '—';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

export interface DetailsProps {
  chain: string;
  row: ElementRow;
  state: string;
  verify: Verify | undefined;
  admin: boolean;
  onClose: () => void;
}

export function Details({ chain, row, state, verify, admin, onClose }: DetailsProps) {
  const [confirm, setConfirm] = useState<'revoke' | 'reattest' | null>(null);
  const [reason, setReason] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const id = row.element.identity;
  const v = verify?.elements[row.id];
  const act = async () => {
    const path = `/v1/chains/${enc(chain)}/elements/${enc(row.id)}/${confirm}`;
    try {
      const r = await api<{ verdict?: string; status?: string }>(path, {
        method: 'POST',
        body: confirm === 'revoke' ? { reason: reason || 'revoked from the dashboard' } : {},
      });
      setResult({
        ok: true,
        text: confirm === 'revoke' ? 'Revoked.' : `Re-attested: ${r.verdict ?? r.status ?? 'done'}`,
      });
    } catch (e) {
      const p = e instanceof ApiError ? e.problem : { status: 0, detail: String(e) };
      setResult({ ok: false, text: JSON.stringify(p, null, 1) });
    }
    setConfirm(null);
  };
  const failures = verify?.failures.filter((f) => f.link.includes(row.id)) ?? [];
  return (
    <section class="details" aria-labelledby="details-title">
      <h3 id="details-title">
        Element <span class="mono">{row.id.slice(0, 16)}…</span>
      </h3>
      <button type="button" class="close" onClick={onClose}>
        Close details
      </button>
      <dl>
        <dt>State</dt>
        <dd>
          <span class={`badge s-${state}`}>{state}</span>
          {row.health?.cause ? ` — ${row.health.cause}` : ''}
          {row.health?.since ? ` (since ${row.health.since})` : ''}
        </dd>
        <dt>Status</dt>
        <dd>
          {row.status}
          {row.revocation?.reason ? ` — ${row.revocation.reason}` : ''}
        </dd>
        <dt>Element id</dt>
        <dd class="mono wrap">{row.id}</dd>
        <dt>MRENCLAVE</dt>
        <dd class="mono wrap">{id?.mrEnclave ?? '—'}</dd>
        <dt>MRSIGNER</dt>
        <dd class="mono wrap">{id?.mrSigner ?? '—'}</dd>
        <dt>ISVPRODID / ISVSVN</dt>
        <dd>{id ? `${id.isvProdId} / ${id.isvSvn}` : '—'}</dd>
        <dt>Attributes</dt>
        <dd class="mono">{id ? `${id.attributes}${id.debug ? ' (DEBUG)' : ''}` : '—'}</dd>
        <dt>TCB status</dt>
        <dd>
          {row.health?.tcbStatus ?? row.link?.appraisal?.tcbStatus ?? row.element.tcbStatus ?? '—'}
          {row.link?.appraisal?.advisoryIds?.length ? ` (${row.link.appraisal.advisoryIds.join(', ')})` : ''}
          {row.health?.predictedTcbStatus
            ? `; predicted ${row.health.predictedTcbStatus}${row.health.predictedAt ? ` from ${row.health.predictedAt}` : ''}`
            : ''}
        </dd>
        <dt>Evidence age</dt>
        <dd>{age(row.updatedAt ?? row.createdAt)}</dd>
        <dt>Link</dt>
        <dd>
          {row.linkType ?? row.link?.type ?? '—'} from <span class="mono">{row.parent ?? 'the chain owner'}</span>
        </dd>
        <dt>Link signature</dt>
        <dd class="mono wrap">{row.link?.signature ?? '—'}</dd>
        <dt>Appraisal</dt>
        <dd>
          {row.link?.appraisal?.verdict ?? '—'}; chain verification: {v ? (v.valid ? 'valid' : 'not valid') : '—'}
          {failures.length ? (
            <ul>
              {failures.map((f) => (
                <li key={f.check}>
                  {f.check}: {f.message}
                </li>
              ))}
            </ul>
          ) : null}
        </dd>
      </dl>
      {admin ? (
        <div class="actions">
          {confirm ? (
            <div role="group" aria-label="Confirm the action">
              {confirm === 'revoke' ? (
                <label>
                  Reason <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
                </label>
              ) : null}
              <button type="button" class="danger" onClick={() => void act()}>
                Confirm {confirm === 'revoke' ? 'revocation' : 're-attestation'}
              </button>
              <button type="button" onClick={() => setConfirm(null)}>
                Cancel
              </button>
            </div>
          ) : (
            <>
              <button type="button" onClick={() => setConfirm('revoke')} disabled={row.status === 'revoked'}>
                Revoke…
              </button>
              <button type="button" onClick={() => setConfirm('reattest')} disabled={row.status === 'revoked'}>
                Re-attest…
              </button>
            </>
          )}
          {result ? (
            <pre role="status" class={result.ok ? 'ok' : 'problem'}>
              {result.text}
            </pre>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
