import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

/**
 * The import graph of a source tree and the project's layering rules (docs/architecture.md, "Layers").
 * Imports are read with TypeScript's own pre-processor: static imports, `import type`, `export … from`
 * and dynamic `import('…')` — a type-only or lazy import is a dependency too.
 */
export interface ImportEdge {
  from: string;
  to: string;
  dynamic: boolean;
}

/** Bottom up; a file may import its own layer and the layers below it. */
export const LAYERS = [
  'errors',
  'bytes',
  'json',
  'http',
  'crypto',
  'formats',
  'sgx',
  'tdx',
  'attestation',
  'channel',
  'chain',
  'cot',
  'store',
  'server',
  'bench',
  'cli',
  'index',
] as const;

/** Imports the order alone would allow but the design forbids: [from prefix, to prefix, why]. */
export const FORBIDDEN: Array<[from: string, to: string, why: string]> = [
  ['src/attestation/', 'src/sgx/', 'verification never depends on the emulator (DESIGN §2)'],
  ['src/attestation/', 'src/tdx/', 'verification never depends on the emulator (DESIGN §2)'],
  ['src/channel/', 'src/tdx/', 'the channel receives the (emulated) issuer by injection'],
  ['src/chain/', 'src/tdx/', 'the chain model is pure and hardware-neutral'],
  ['src/channel/', 'src/sgx/', 'the channel receives the (emulated) issuer by injection'],
  ['src/chain/', 'src/sgx/', 'the chain model is pure and hardware-neutral'],
];

export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

/** Relative imports of each file, resolved to repository-relative paths (package imports are ignored). */
export function importEdges(repo: string, files: string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const abs of files) {
    const from = relative(repo, abs);
    const text = readFileSync(abs, 'utf8');
    const info = ts.preProcessFile(text, true, true);
    for (const f of info.importedFiles) {
      if (!f.fileName.startsWith('.')) continue;
      const to = normalize(join(dirname(from), f.fileName));
      // preProcessFile does not say which imports are dynamic: look at the text just before the specifier.
      const before = text.slice(Math.max(0, f.pos - 30), f.pos);
      edges.push({ from, to, dynamic: /import\s*\(\s*['"`]?$/.test(before) });
    }
  }
  return edges;
}

export function layerOf(file: string): string | undefined {
  const m = /^src\/([^/]+?)(?:\.ts)?(?:\/|$)/.exec(file);
  return m ? m[1] : undefined;
}

/** Every import cycle between files, each as its strongly connected component (Tarjan). */
export function cycles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let i = 0;
  const visit = (v: string) => {
    index.set(v, i);
    low.set(v, i++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** Imports that go up the layer order, into a forbidden layer, or out of src/ (one line each). */
export function layerViolations(edges: ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const a = layerOf(e.from);
    if (a === undefined) continue;
    const b = layerOf(e.to);
    const line = `${e.from} -> ${e.to}`;
    if (b === undefined) {
      // Issue 12: the CLI may reach bench/ only by lazily loading a bench subcommand.
      if (!(e.dynamic && a === 'cli' && e.to.startsWith('bench/')))
        out.push(`${line} (leaves src/${e.dynamic ? '' : ', statically'})`);
      continue;
    }
    const ia = LAYERS.indexOf(a as (typeof LAYERS)[number]);
    const ib = LAYERS.indexOf(b as (typeof LAYERS)[number]);
    if (ia < 0 || ib < 0) out.push(`${line} (a folder missing from LAYERS: ${ia < 0 ? a : b})`);
    else if (ib > ia) out.push(`${line} (${a} imports ${b}, a layer above it)`);
    for (const [from, to, why] of FORBIDDEN)
      if (e.from.startsWith(from) && e.to.startsWith(to)) out.push(`${line} (forbidden: ${why})`);
  }
  return out;
}

/**
 * Module-level mutable state of a source file: a top-level `let`, or a top-level `new Map / WeakMap /
 * Set / WeakSet / Lru / BoundedMap` not declared Readonly (ReadonlyMap, ReadonlySet: a constant table).
 * Caches belong to the object that creates them, bounded, passed to their users (docs/architecture.md).
 */
export function moduleState(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st)) continue;
    const isLet = (st.declarationList.flags & ts.NodeFlags.Let) !== 0;
    for (const d of st.declarationList.declarations) {
      const name = d.name.getText(sf);
      if (isLet) {
        out.push(`${file}: let ${name}`);
        continue;
      }
      const init = d.initializer;
      const readonly = d.type !== undefined && /^Readonly/.test(d.type.getText(sf));
      if (
        init &&
        ts.isNewExpression(init) &&
        /^(Map|WeakMap|Set|WeakSet|Lru|BoundedMap)$/.test(init.expression.getText(sf)) &&
        !readonly
      ) {
        out.push(`${file}: ${name} = new ${init.expression.getText(sf)}`);
      }
    }
  }
  return out;
}
