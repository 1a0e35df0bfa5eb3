// A second test reporter for scripts/run-tests.mjs: appends one line per test start and end to
// $CATENA_TEST_PROGRESS, synchronously, so that when the watchdog kills a hung run it can still
// name what never ended. Node 20 forwards a file's own tests only once the file is done, so live
// progress is per file: dequeue = started, complete = ended.
import { appendFileSync } from 'node:fs';

export default async function* progressReporter(source) {
  const path = process.env.CATENA_TEST_PROGRESS;
  for await (const event of source) {
    if (!path) continue;
    const kind = event.type === 'test:dequeue' ? 'start' : event.type === 'test:complete' ? 'end' : null;
    if (!kind) continue;
    const d = event.data;
    appendFileSync(path, `${kind}\t${d.file ?? '?'}\t${d.nesting}\t${String(d.name).replace(/[\t\n]/g, ' ')}\n`);
  }
  yield '';
}
