// The accessible table of a chain's elements: one row per element (data-element-id), state as text,
// sortable by any column (buttons in the headers, aria-sort), arrow keys move between rows, Enter opens.
import { Component } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * Rows drawn at once (more than a screen holds); the rest follow in chunks, one per task, so a
 * 10,000-element chain shows at once and the page answers input between chunks.
 */
const FIRST_ROWS = 100;
const CHUNK = 1000;
import { short, type ElementRow } from '../api.ts';
import { markOnce } from '../marks.ts';

type Col = 'seq' | 'id' | 'cloud' | 'platform' | 'link' | 'status' | 'state';
const COLS: { key: Col; label: string }[] = [
  { key: 'seq', label: '#' },
  { key: 'id', label: 'Element' },
  { key: 'cloud', label: 'Cloud' },
  { key: 'platform', label: 'Platform' },
  { key: 'link', label: 'Link' },
  { key: 'status', label: 'Status' },
  { key: 'state', label: 'State' },
];

export interface TableProps {
  rows: ElementRow[];
  states: Map<string, string>;
  cloudOf: (r: ElementRow) => string;
  selected: string | undefined;
  onPick: (id: string) => void;
}

export function ElementTable({ rows, states, cloudOf, selected, onPick }: TableProps) {
  const [sort, setSort] = useState<{ col: Col; asc: boolean }>({ col: 'seq', asc: true });
  const value = (r: ElementRow, c: Col): string | number => {
    switch (c) {
      case 'seq':
        return r.seq ?? 0;
      case 'id':
        return r.id;
      case 'cloud':
        return cloudOf(r);
      case 'platform':
        return r.element.platform;
      case 'link':
        return r.linkType ?? '';
      case 'status':
        return r.status;
      case 'state':
        return states.get(r.id) ?? '';
    }
  };
  const [limit, setLimit] = useState(FIRST_ROWS);
  useEffect(() => markOnce('catena:first-rows'), []);
  useEffect(() => {
    if (limit >= rows.length) return;
    const t = setTimeout(() => setLimit((l) => l + CHUNK), 0);
    return () => clearTimeout(t);
  }, [limit, rows.length]);
  const sorted = [...rows].sort((a, b) => {
    const x = value(a, sort.col);
    const y = value(b, sort.col);
    const d = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return sort.asc ? d : -d;
  });
  // One handler for the whole body (thousands of rows: no closure per row).
  const rowOf = (e: Event) => (e.target as HTMLElement).closest<HTMLTableRowElement>('tr[data-element-id]');
  const onKey = (e: KeyboardEvent) => {
    const tr = rowOf(e);
    if (!tr) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = (e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLElement | null;
      next?.focus();
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onPick(tr.dataset.elementId!);
    }
  };
  const onClick = (e: MouseEvent) => {
    const tr = rowOf(e);
    if (tr) onPick(tr.dataset.elementId!);
  };
  return (
    <div class="table-wrap">
      <table class="elements">
        <caption>
          Elements of the chain ({limit < rows.length ? `${limit} of ${rows.length} shown, more coming` : rows.length});
          arrow keys move between rows, Enter shows details
        </caption>
        <thead>
          <tr>
            {COLS.map((c) => (
              <th
                key={c.key}
                scope="col"
                aria-sort={sort.col === c.key ? (sort.asc ? 'ascending' : 'descending') : 'none'}
              >
                <button
                  type="button"
                  class="sort"
                  onClick={() => setSort({ col: c.key, asc: sort.col === c.key ? !sort.asc : true })}
                >
                  {c.label}
                  <span aria-hidden="true">{sort.col === c.key ? (sort.asc ? ' ▲' : ' ▼') : ''}</span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody onClick={onClick} onKeyDown={onKey}>
          {sorted.slice(0, limit).map((r) => (
            <Row
              key={r.id}
              row={r}
              state={states.get(r.id) ?? 'valid'}
              cloud={cloudOf(r)}
              selected={selected === r.id}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface RowProps {
  row: ElementRow;
  state: string;
  cloud: string;
  selected: boolean;
}

/** One element's row; drawn again only when what it shows changed (a 10,000-row table re-renders in chunks). */
class Row extends Component<RowProps> {
  override shouldComponentUpdate(n: RowProps): boolean {
    const p = this.props;
    return n.row !== p.row || n.state !== p.state || n.cloud !== p.cloud || n.selected !== p.selected;
  }
  override render({ row: r, state, cloud, selected }: RowProps) {
    return (
      <tr data-element-id={r.id} tabIndex={0} class={selected ? 'selected' : undefined}>
        <td>{r.seq ?? ''}</td>
        <td class="mono" title={r.id}>
          {short(r.id, 16)}
        </td>
        <td>{cloud}</td>
        <td class="mono" title={r.element.platform}>
          {short(r.element.platform, 10)}
        </td>
        <td>{r.linkType ?? '—'}</td>
        <td>{r.status}</td>
        <td>
          <span class={`badge s-${state}`}>{state}</span>
        </td>
      </tr>
    );
  }
}
