// The chain view: the graph (clouds ⊃ platforms ⊃ enclaves) beside the accessible table of the same
// elements, a legend, details on click. Live events of this chain patch the picture at once and
// trigger a re-read of the elements and the verdict.
import type cytoscape from 'cytoscape';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, enc, listElements, short, stateOf, STATES, type Agent, type ElementRow, type Verify } from '../api.ts';
import type { LiveEvent } from '../events.ts';
import { GROUP_ABOVE, loadGraph } from '../graph-loader.ts';
import { markOnce } from '../marks.ts';
import { Details } from './details.tsx';
import { ElementTable } from './table.tsx';

export interface ChainViewProps {
  chain: string;
  admin: boolean;
  /** The live events since the page opened (every new one is applied once). */
  events: LiveEvent[];
  /** Bumped when the event stream reconnects: the view re-reads everything (catch-up). */
  generation: number;
  onError: (msg: string) => void;
}

export function ChainView({ chain, admin, events, generation, onError }: ChainViewProps) {
  const [rows, setRows] = useState<ElementRow[] | undefined>();
  const [verify, setVerify] = useState<Verify | undefined>();
  const [agents, setAgents] = useState<Map<string, Agent>>(new Map());
  const [selected, setSelected] = useState<string | undefined>();
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const graphBox = useRef<HTMLDivElement>(null);
  const cy = useRef<cytoscape.Core | null>(null);
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // The rows show as soon as the elements arrive; the verdict (a whole-chain verification, slow on a
  // large chain) and the agents fill in when they answer.
  const load = async () => {
    const v = api<Verify>(`/v1/chains/${enc(chain)}/verify`).catch(() => undefined);
    const a = api<Agent[] | { agents: Agent[] }>('/v1/agents').catch(() => [] as Agent[]);
    void a.then((x) => setAgents(new Map((Array.isArray(x) ? x : x.agents).map((g) => [g.id, g]))));
    void v.then(setVerify);
    try {
      const r = await listElements(chain);
      markOnce('catena:elements-read');
      setRows(r);
    } catch (e) {
      onError(`Could not read chain ${chain}: ${(e as Error).message}`);
    }
  };
  useEffect(() => {
    setRows(undefined);
    setSelected(undefined);
    void load();
  }, [chain]);

  const seen = useRef(events.length ? events[events.length - 1].id : 0);
  useEffect(() => {
    let mine = false;
    for (const e of events) {
      if (!(e.id > seen.current)) continue;
      seen.current = e.id;
      if (e.data.chain !== chain) continue;
      mine = true;
      const el = e.data.element;
      if (e.type === 'element.revoked' && el)
        setRows((rs) => rs?.map((r) => (r.id === el ? { ...r, status: 'revoked' } : r)));
      if (e.type === 'element.status' && el && typeof e.data.status === 'string') {
        const status = e.data.status;
        setRows((rs) => rs?.map((r) => (r.id === el ? { ...r, status } : r)));
      }
      if (e.type === 'element.state' && el && typeof e.data.state === 'string') {
        const state = e.data.state;
        setRows((rs) => rs?.map((r) => (r.id === el ? { ...r, health: { ...(r.health ?? {}), state } } : r)));
      }
    }
    if (!mine) return;
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => void load(), 250);
  }, [events]);
  useEffect(() => {
    if (generation > 0) void load();
  }, [generation]);
  useEffect(() => () => clearTimeout(reloadTimer.current), []);

  const cloudOf = useMemo(
    () => (r: ElementRow) => r.element.cloud ?? (r.agent ? agents.get(r.agent)?.cloud : undefined) ?? 'unknown cloud',
    [agents],
  );
  const states = useMemo(() => new Map((rows ?? []).map((r) => [r.id, stateOf(r, verify)])), [rows, verify]);
  const grouped = (rows?.length ?? 0) > GROUP_ABOVE;
  // The grouped platforms with their element counts: the keyboard's way to expand one (the graph is a canvas).
  const groups = useMemo(() => {
    const n = new Map<string, number>();
    if (grouped) for (const r of rows ?? []) n.set(r.element.platform, (n.get(r.element.platform) ?? 0) + 1);
    return [...n];
  }, [rows, grouped]);
  const toggle = (p: string) =>
    setExpanded((s) => {
      const n = new Set(s);
      if (n.has(p)) n.delete(p);
      else n.add(p);
      return n;
    });
  // The graph is laid out again only when the set of elements (or what is expanded) changes.
  const shape = useMemo(
    () => (rows ?? []).map((r) => `${r.id}>${r.parent ?? ''}@${cloudOf(r)}`).join(',') + `|${[...expanded].join(',')}`,
    [rows, expanded, cloudOf],
  );
  // The states the graph must show when it is drawn (the draw is asynchronous: the module may still load).
  const statesNow = useRef(states);
  statesNow.current = states;
  useEffect(() => {
    if (!rows || !graphBox.current) return;
    let current = true;
    void loadGraph().then(({ drawGraph, recolour }) => {
      const box = graphBox.current;
      if (!current || !box) return;
      cy.current?.destroy();
      const t0 = performance.now();
      cy.current = drawGraph(box, { rows, states, cloudOf, expanded, grouped }, (kind, id) => {
        if (kind === 'element') setSelected(id);
        else toggle(id);
      });
      if (statesNow.current !== states) recolour(cy.current, statesNow.current);
      box.dataset.elementNodes = String(cy.current.nodes('.element').length);
      box.dataset.renderMs = String(Math.round(performance.now() - t0));
      markOnce('catena:graph-drawn');
    });
    return () => {
      current = false;
    };
  }, [shape]);
  useEffect(() => {
    const c = cy.current;
    if (c) void loadGraph().then(({ recolour }) => recolour(c, states));
  }, [states]);
  useEffect(() => () => cy.current?.destroy(), []);

  if (!rows) return <p role="status">Loading chain {chain}…</p>;
  const tally = new Map<string, number>();
  for (const s of states.values()) tally.set(s, (tally.get(s) ?? 0) + 1);
  const counts = STATES.map((s) => [s, tally.get(s) ?? 0] as const);
  const row = selected ? rows.find((r) => r.id === selected) : undefined;
  return (
    <section aria-labelledby="chain-title">
      <h2 id="chain-title">
        Chain <span class="mono">{chain}</span>
      </h2>
      <p class="verdict">
        Verdict:{' '}
        <strong class={verify?.valid ? 'ok' : 'bad'}>
          {verify ? (verify.valid ? 'valid' : 'not valid') : 'unknown'}
        </strong>
        {verify
          ? ` — ${verify.size} elements, ${verify.links.local} local and ${verify.links.remote} remote links`
          : ''}
        {grouped ? ` — more than ${GROUP_ABOVE} elements: platforms grouped (click one to expand it)` : ''}
      </p>
      <ul class="legend" aria-label="Legend">
        {counts.map(([s, n]) => (
          <li key={s}>
            <span class={`swatch s-${s}`} aria-hidden="true"></span>
            {s} ({n})
          </li>
        ))}
        <li>
          <span class="line local" aria-hidden="true"></span>local link
        </li>
        <li>
          <span class="line remote" aria-hidden="true"></span>remote link
        </li>
      </ul>
      {grouped ? (
        <div class="groups" role="group" aria-label="Grouped platforms: expand or collapse one in the graph">
          {groups.map(([p, n]) => (
            <button
              key={p}
              type="button"
              title={p}
              aria-pressed={expanded.has(p) ? 'true' : 'false'}
              onClick={() => toggle(p)}
            >
              <span class="mono">{short(p, 10)}</span> ({n})
            </button>
          ))}
        </div>
      ) : null}
      <div class="chain-layout">
        <div
          class="graph"
          ref={graphBox}
          role="img"
          aria-label={`Graph of the chain: ${rows.length} elements in their platforms and clouds; the table lists the same elements`}
        ></div>
        <ElementTable rows={rows} states={states} cloudOf={cloudOf} selected={selected} onPick={setSelected} />
      </div>
      {row ? (
        <Details
          chain={chain}
          row={row}
          state={states.get(row.id) ?? 'valid'}
          verify={verify}
          admin={admin}
          onClose={() => setSelected(undefined)}
        />
      ) : null}
    </section>
  );
}
