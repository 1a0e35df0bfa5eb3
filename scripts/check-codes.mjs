#!/usr/bin/env node
// npm run check:codes — lists every error code documented in docs/errors.md that no test asserts, and
// exits 1 if there is one (issue 11, item 7a). A code counts as asserted when a test file under test/
// holds it as a whole string literal ('ERR_X', "ERR_X" or `ERR_X`) outside comments and outside an
// error constructor call (`new XError('ERR_X', …)` makes a stub throw it: that expects nothing).
// Test titles do not count (a title is never exactly the code). Usage: node scripts/check-codes.mjs [--json]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const CODE = /^ERR_[A-Z0-9_]+$/;

function walk(dir, exts, out = []) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    if (n === 'node_modules' || n.startsWith('.')) continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, exts, out);
    else if (exts.some((e) => n.endsWith(e))) out.push(p);
  }
  return out;
}

/**
 * The string literals of a JS/TS source with the text before each, skipping comments. A small scanner:
 * enough for test files (regex literals that contain quotes are rare there and at worst hide a literal).
 */
export function stringLiterals(src) {
  const out = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      i = src.indexOf('\n', i);
      if (i < 0) break;
      continue;
    }
    if (c === '/' && d === '*') {
      const e = src.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      const start = i;
      let j = i + 1;
      let text = '';
      while (j < n && src[j] !== c) {
        if (src[j] === '\\') {
          text += src[j + 1];
          j += 2;
          continue;
        }
        // A template literal's ${…} ends the plain text: such a literal is never exactly a code.
        if (c === '`' && src[j] === '$' && src[j + 1] === '{') text += '\u0000';
        if (c !== '`' && src[j] === '\n') break;
        text += src[j];
        j++;
      }
      out.push({ text, before: src.slice(Math.max(0, start - 80), start) });
      i = j + 1;
      continue;
    }
    i++;
  }
  return out;
}

const CONSTRUCTED = /\bnew\s+[A-Za-z]*Error\s*\(\s*$/;

export function assertedCodes(files) {
  const where = new Map();
  for (const f of files) {
    for (const { text, before } of stringLiterals(readFileSync(f, 'utf8'))) {
      if (!CODE.test(text) || CONSTRUCTED.test(before)) continue;
      if (!where.has(text)) where.set(text, new Set());
      where.get(text).add(relative(root, f));
    }
  }
  return where;
}

export function documentedCodes(markdown) {
  return [...new Set(markdown.match(/\bERR_[A-Z0-9_]+\b/g) ?? [])].sort();
}

function main() {
  const json = process.argv.includes('--json');
  const documented = documentedCodes(readFileSync(join(root, 'docs', 'errors.md'), 'utf8'));
  const tests = walk(join(root, 'test'), ['.ts', '.mts', '.js', '.mjs']);
  const asserted = assertedCodes(tests);
  const sources = [
    ...walk(join(root, 'src'), ['.ts', '.js']),
    ...walk(join(root, 'bench'), ['.ts', '.js']),
    ...walk(join(root, 'bin'), ['.js']),
  ]
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const unasserted = documented.filter((c) => !asserted.has(c));
  // Documented but nowhere in the code base: stale documentation (remove it rather than test it).
  const notEmitted = documented.filter((c) => !sources.includes(c));
  if (json) {
    process.stdout.write(
      JSON.stringify(
        { documented: documented.length, asserted: documented.length - unasserted.length, unasserted, notEmitted },
        null,
        2,
      ) + '\n',
    );
  } else {
    for (const c of unasserted) process.stdout.write(`${c}\n`);
    process.stderr.write(
      `check:codes: ${documented.length} codes in docs/errors.md, ${documented.length - unasserted.length} asserted by a test, ${unasserted.length} not\n`,
    );
    if (notEmitted.length)
      process.stderr.write(
        `check:codes: documented but emitted nowhere in src/, bench/, bin/: ${notEmitted.join(', ')}\n`,
      );
  }
  process.exitCode = unasserted.length || notEmitted.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
