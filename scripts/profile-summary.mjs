#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by file, and
// inclusive time of the heaviest functions. Usage: node scripts/profile-summary.mjs FILE [TOP] [WINDOW_FN]
// WINDOW_FN: keep only samples taken between the first and the last sample whose stack holds a
// function of that name (e.g. "appendElement": the timed append phase of catena bench manager).
import { readFileSync } from 'node:fs';

const [file, topArg, windowFn] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/profile-summary.mjs FILE.cpuprofile [TOP]');
  process.exit(2);
}
const top = Number(topArg ?? 40);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const onStack = (id, fn) => {
  for (let x = id; x !== undefined; x = parent.get(x)) if (byId.get(x).callFrame.functionName === fn) return true;
  return false;
};
let from = 0;
let to = prof.samples.length - 1;
if (windowFn) {
  const hits = prof.samples.map((id, i) => (onStack(id, windowFn) ? i : -1)).filter((i) => i >= 0);
  if (hits.length === 0) throw new Error(`no sample under ${windowFn}`);
  [from, to] = [hits[0], hits[hits.length - 1]];
}
const self = new Map();
let wall = 0;
for (let i = from; i <= to; i++) {
  const dt = prof.timeDeltas[i + 1] ?? 0;
  wall += dt;
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const name = (n) =>
  `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const fileOf = (n) => n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/') || n.callFrame.functionName;
const selfBy = (key) => {
  const m = new Map();
  for (const [id, t] of self) {
    const k = key(byId.get(id));
    m.set(k, (m.get(k) ?? 0) + t);
  }
  return [...m].sort((a, b) => b[1] - a[1]);
};
// Inclusive: each sample counts once for every distinct function on its stack.
const incl = new Map();
for (const [id, t] of self) {
  const seen = new Set();
  for (let x = id; x !== undefined; x = parent.get(x)) {
    const k = name(byId.get(x));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + t);
  }
}
const ms = (us) => (us / 1000).toFixed(0).padStart(7);
const pc = (us) => ((100 * us) / total).toFixed(1).padStart(5);
const idle = [...self]
  .filter(([id]) => byId.get(id).callFrame.functionName === '(idle)')
  .reduce((a, [, t]) => a + t, 0);
console.log(`sampled ${ms(wall)} ms wall, ${ms(total - idle)} ms busy${windowFn ? ` (window: ${windowFn})` : ''}`);
console.log('\n-- self by file --');
for (const [k, t] of selfBy(fileOf).slice(0, top)) console.log(`${ms(t)} ms ${pc(t)}%  ${k}`);
console.log('\n-- self by function --');
for (const [k, t] of selfBy(name).slice(0, top)) console.log(`${ms(t)} ms ${pc(t)}%  ${k}`);
console.log('\n-- inclusive by function --');
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ms ${pc(t)}%  ${k}`);
