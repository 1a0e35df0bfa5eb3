import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const catena = fileURLToPath(new URL('../../bin/catena.js', import.meta.url));

for (const runtime of ['isolated', 'inline']) {
  test(`catena emulate local-attest --runtime ${runtime}: two enclaves attest each other and open a session`, () => {
    const out = JSON.parse(
      execFileSync(process.execPath, [catena, 'emulate', 'local-attest', '--runtime', runtime, '--json'], {
        encoding: 'utf8',
        timeout: 60_000,
      }),
    );
    assert.equal(out.mutual, true);
    assert.equal(out.session, true);
    assert.equal(out.enclaves.length, 2);
    assert.notEqual(out.enclaves[0].mrenclave, out.enclaves[1].mrenclave);
    assert.match(out.platform, /^[0-9a-f]{16}$/);
  });
}

test('catena emulate local-attest rejects an unknown runtime with exit 2', () => {
  assert.throws(
    () =>
      execFileSync(process.execPath, [catena, 'emulate', 'local-attest', '--runtime', 'bogus'], {
        encoding: 'utf8',
        stdio: 'pipe',
        timeout: 60_000,
      }),
    (e: { status: number }) => e.status === 2,
  );
});
