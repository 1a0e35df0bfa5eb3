#!/usr/bin/env node
// After a mutation run (reports/mutation/mutation.json): fails when a mutant on a line that decides a
// verification check's outcome — the lines between the `[mutation scope \`checks\`]` markers — survived
// or had no test. StringLiteral mutants there only change detail text (the `checks` scope leaves them
// out too); ignored and killed mutants pass. Prints the score per file either way.
import { readFileSync } from 'node:fs';
import { CHECK_FILES, markedRanges } from '../stryker.config.mjs';

const report = JSON.parse(readFileSync('reports/mutation/mutation.json', 'utf8'));
const ranges = markedRanges(CHECK_FILES).map((r) => {
  const [, file, from, to] = /^(.*):(\d+)-(\d+)$/.exec(r);
  return { file, from: Number(from), to: Number(to) };
});
const onCheckLine = (file, line) => ranges.some((r) => file.endsWith(r.file) && line >= r.from && line <= r.to);

const bad = [];
const scores = [];
for (const [file, { mutants }] of Object.entries(report.files)) {
  const count = (s) => mutants.filter((m) => s.includes(m.status)).length;
  const detected = count(['Killed', 'Timeout']);
  const valid = detected + count(['Survived', 'NoCoverage']);
  scores.push([file, detected, valid]);
  for (const m of mutants) {
    if (!['Survived', 'NoCoverage'].includes(m.status) || m.mutatorName === 'StringLiteral') continue;
    if (onCheckLine(file, m.location.start.line))
      bad.push(
        `${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName} → ${m.replacement ?? ''}`,
      );
  }
}
const reported = ranges.filter((r) => !Object.keys(report.files).some((f) => f.endsWith(r.file)));
if (reported.length) bad.push(...reported.map((r) => `${r.file}: not in the report (run a scope that mutates it)`));
const all = scores.reduce((a, [, d, v]) => [a[0] + d, a[1] + v], [0, 0]);
for (const [file, d, v] of scores)
  process.stdout.write(`${((100 * d) / (v || 1)).toFixed(2).padStart(6)} %  ${d}/${v}  ${file}\n`);
process.stdout.write(`${((100 * all[0]) / (all[1] || 1)).toFixed(2).padStart(6)} %  ${all[0]}/${all[1]}  all files\n`);
if (bad.length) {
  process.stderr.write(
    `mutation gate: ${bad.length} mutant(s) on check-deciding lines not detected:\n${bad.join('\n')}\n`,
  );
  process.exit(1);
}
process.stdout.write('mutation gate: every mutant on a check-deciding line is detected\n');
