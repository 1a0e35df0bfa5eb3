import type { Rng } from './prng.ts';

/**
 * Structure-aware mutations of a JSON value (the collateral JSON formats, proof bundles): delete or add
 * members, swap a value's type, edit numbers around their limits, edit hex and date strings the way a
 * careless or hostile producer would, duplicate/drop/reorder array items, and graft subtrees from
 * another seed. Applies 1…5 stacked mutations to a deep copy.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

const clone = (v: Json): Json => (v === null || typeof v !== 'object' ? v : JSON.parse(JSON.stringify(v)));

function paths(v: Json, prefix: Path, out: Path[], depth: number): Path[] {
  out.push(prefix);
  if (depth > 12 || v === null || typeof v !== 'object') return out;
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out, depth + 1));
  else for (const k of Object.keys(v)) paths(v[k], [...prefix, k], out, depth + 1);
  return out;
}

function get(v: Json, p: Path): Json {
  let x: Json = v;
  for (const k of p) x = (x as Record<string | number, Json>)[k]!;
  return x;
}

/** Sets (or with `remove`, deletes) the value at a non-empty path. Own properties only (`__proto__` included). */
function set(root: Json, p: Path, value: Json | undefined): void {
  const parent = get(root, p.slice(0, -1)) as Record<string | number, Json> | Json[];
  const k = p[p.length - 1];
  if (Array.isArray(parent)) {
    if (value === undefined) parent.splice(k as number, 1);
    else parent[k as number] = value;
  } else if (value === undefined) delete parent[k];
  else Object.defineProperty(parent, k, { value, enumerable: true, writable: true, configurable: true });
}

const NUMBERS = [
  0,
  -1,
  1,
  255,
  256,
  65535,
  65536,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1.5,
  1e308,
  -1e-300,
  Number.MAX_SAFE_INTEGER,
];
const HEX = '0123456789abcdef';

function mutateString(r: Rng, s: string): string {
  const isHex = /^[0-9a-fA-F]+$/.test(s);
  const isDate = /^\d{4}-\d\d-\d\dT/.test(s);
  const at = r.int(s.length + 1);
  const edits: Array<() => string> = [
    () => '',
    () => s.slice(0, at) + s.slice(at + 1),
    () => s.slice(0, at) + r.pick(['0', 'g', 'Z', ' ', '"', '\\', '\u0000', 'é', '\ud800', '-', '.']) + s.slice(at),
    () => s + s,
    () => s.toUpperCase(),
    () => s.slice(0, at),
    () => r.pick(['x', '0', 'null', 'true', '{}', 'UpToDate', 'Revoked', 'SGX', 'TDX', 'QE', 'TD_QE']),
  ];
  if (isHex) {
    edits.push(
      () => s.slice(0, at) + r.pick([...HEX]) + s.slice(at + 1),
      () => `0x${s}`,
      () => `${s}00`,
      () => s.slice(2),
      () => s.slice(0, -1),
      () => '00'.repeat(s.length / 2),
    );
  }
  if (isDate) {
    edits.push(
      () => s.replace('Z', '+00:00'),
      () => s.replace(/T\d\d/, 'T25'),
      () => s.replace(/-\d\d-/, '-13-'),
      () => s.replace(/-\d\dT/, '-31T'),
      () => s.replace(/^\d{4}/, r.pick(['0000', '9999', '1970', '2100', '275760'])),
      () => s.replace(/\.\d+Z$/, 'Z'),
      () => s.replace(/Z$/, '.1234Z'),
    );
  }
  return r.pick(edits)();
}

function replacement(r: Rng, old: Json, other: () => Json): Json {
  const swaps: Array<() => Json> = [
    () => null,
    () => r.chance(0.5),
    () => r.pick(NUMBERS),
    () => '',
    () => [],
    () => ({}),
    // JavaScript's own coercion on purpose ('[object Object]', 'a,b'): what a careless producer writes, and
    // a reported seed replays only while this mutation stays the same.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the default stringification is the mutation
    () => (typeof old === 'string' ? Number(old) || 1 : String(old)),
    () => [old],
    () => ({ value: old }),
    other,
  ];
  if (typeof old === 'number')
    swaps.push(
      () => old + r.pick([1, -1, 256, -256, 0.5]),
      () => -old,
      () => old * 65536,
    );
  if (typeof old === 'string')
    swaps.push(
      () => mutateString(r, old),
      () => mutateString(r, old),
      () => mutateString(r, old),
    );
  return r.pick(swaps)();
}

function once(r: Rng, root: Json, others: readonly Json[]): Json {
  const all = paths(root, [], [], 0);
  const p = r.pick(all);
  const v = get(root, p);
  const fromOther = (): Json => {
    if (others.length === 0) return null;
    const o = r.pick(others);
    return clone(get(o, r.pick(paths(o, [], [], 0))));
  };
  if (p.length === 0) {
    // The root itself: replace it rarely, otherwise mutate inside.
    if (r.chance(0.05)) return replacement(r, v, fromOther);
    if (all.length === 1) return replacement(r, v, fromOther);
    return once(r, root, others);
  }
  switch (r.int(8)) {
    case 0:
      set(root, p, undefined);
      return root;
    case 1:
    case 2:
    case 3:
      set(root, p, replacement(r, v, fromOther));
      return root;
    case 4: {
      // Add an unknown (or duplicate-looking) member, or an array item.
      const parent = get(root, p.slice(0, -1));
      if (Array.isArray(parent)) parent.splice(r.int(parent.length + 1), 0, clone(r.chance(0.7) ? v : fromOther()));
      else if (parent && typeof parent === 'object') {
        const k = r.pick([
          'unknown',
          '__proto__',
          'constructor',
          String(p[p.length - 1]).toUpperCase(),
          `${String(p[p.length - 1])} `,
          '1',
          '0',
        ]);
        Object.defineProperty(parent, k, { value: clone(v), enumerable: true, writable: true, configurable: true });
      }
      return root;
    }
    case 5: {
      if (Array.isArray(v) && v.length > 1) {
        const i = r.int(v.length);
        const j = r.int(v.length);
        [v[i], v[j]] = [v[j]!, v[i]!];
      } else if (Array.isArray(v)) v.length = 0;
      else set(root, p, replacement(r, v, fromOther));
      return root;
    }
    case 6:
      set(root, p, fromOther());
      return root;
    default:
      if (typeof v === 'string') set(root, p, mutateString(r, v));
      else if (typeof v === 'number') set(root, p, r.pick(NUMBERS));
      else set(root, p, replacement(r, v, fromOther));
      return root;
  }
}

export function mutateJson(r: Rng, seed: Json, others: readonly Json[]): Json {
  let v = clone(seed);
  for (let k = r.small(5, 0.35); k > 0; k--) v = once(r, v, others);
  return v;
}

/** JSON text in one of the layouts producers use (compact, indented, with odd whitespace). */
export function stringify(r: Rng, v: Json): string {
  const layout = r.int(4);
  if (layout === 0) return JSON.stringify(v, null, 2);
  if (layout === 1) return ` \n${JSON.stringify(v)}\t\r\n`;
  return JSON.stringify(v) ?? 'null';
}
