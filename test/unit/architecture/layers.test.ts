import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { cycles, importEdges, layerViolations, sourceFiles, type ImportEdge } from '../../helpers/import-graph.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const edges = importEdges(repo, sourceFiles(`${repo}src`));

/**
 * What must remain for now, each with its reason. Keep it short: an entry goes when its cause does.
 * Both belong to the server/CLI restructuring of issue 12 (another branch).
 */
const ALLOWED_CYCLES: Array<[files: string[], why: string]> = [];
const ALLOWED_VIOLATIONS: Array<[prefix: string, why: string]> = [];

test('src/ has no import cycle between files (type-only and dynamic imports included)', (t) => {
  const found = cycles(edges);
  const stale = ALLOWED_CYCLES.filter(([files]) => !found.some((c) => c.join() === [...files].sort().join()));
  if (stale.length)
    t.diagnostic(
      `allow-listed cycles no longer present (remove them): ${stale.map(([f]) => f.join(' <-> ')).join('; ')}`,
    );
  const unexpected = found.filter((c) => !ALLOWED_CYCLES.some(([files]) => [...files].sort().join() === c.join()));
  assert.deepEqual(unexpected, [], `import cycles:\n${unexpected.map((c) => c.join(' <-> ')).join('\n')}`);
});

test('src/ imports only its own layer and the layers below (docs/architecture.md), never a forbidden one', (t) => {
  const found = layerViolations(edges);
  const stale = ALLOWED_VIOLATIONS.filter(([prefix]) => !found.some((v) => v.startsWith(prefix)));
  if (stale.length)
    t.diagnostic(`allow-listed imports no longer present (remove them): ${stale.map(([p]) => p).join('; ')}`);
  const unexpected = found.filter((v) => !ALLOWED_VIOLATIONS.some(([prefix]) => v.startsWith(prefix)));
  assert.deepEqual(unexpected, [], `layer violations:\n${unexpected.join('\n')}`);
});

test('the import reader sees static, type-only, re-export and dynamic imports', () => {
  const from = (f: string) => edges.filter((e) => e.from === f);
  // one of each kind, in files whose imports are stable
  assert.ok(
    from('src/chain/signing-bytes.ts').some((e) => e.to === 'src/json/canonical-json.ts' && !e.dynamic),
    'static import',
  );
  assert.ok(
    from('src/attestation/dcap/types.ts').some((e) => e.to === 'src/attestation/appraisal-policy.ts'),
    'import type',
  );
  assert.ok(
    from('src/json/index.ts').some((e) => e.to === 'src/json/errors.ts'),
    'export … from',
  );
  assert.ok(
    edges.some((e) => e.dynamic),
    'dynamic import()',
  );
  assert.ok(edges.length > 500, `${edges.length} edges: the whole of src/ was read`);
});

// The checker itself can fail: synthetic graphs with each kind of fault.
const edge = (from: string, to: string, dynamic = false): ImportEdge => ({ from, to, dynamic });

test('the checker finds a cycle, a self-import and leaves acyclic graphs alone', () => {
  assert.deepEqual(cycles([edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('c', 'd')]), [['a', 'b', 'c']]);
  assert.deepEqual(cycles([edge('a', 'a')]), [['a']]);
  assert.deepEqual(cycles([edge('a', 'b'), edge('a', 'c'), edge('b', 'c')]), []);
});

test('the checker names an upward import, a forbidden one, a folder missing from LAYERS and a static import out of src/', () => {
  const v = layerViolations([
    edge('src/crypto/x.ts', 'src/formats/y.ts'),
    edge('src/attestation/x.ts', 'src/sgx/y.ts'),
    edge('src/channel/x.ts', 'src/sgx/manufacturer/m.ts', true),
    edge('src/chain/x.ts', 'src/sgx/platform.ts'),
    edge('src/newthing/x.ts', 'src/bytes/y.ts'),
    edge('src/cli/x.ts', 'bench/y.ts'),
    edge('src/server/x.ts', 'bench/y.ts', true),
  ]);
  assert.equal(v.length, 7, v.join('\n'));
  assert.match(v[0], /crypto imports formats, a layer above/);
  assert.match(v[1], /forbidden: verification never depends on the emulator/);
  assert.match(v[2], /forbidden: the channel receives/);
  assert.match(v[4], /missing from LAYERS: newthing/);
  assert.match(v[5], /leaves src\/, statically/);
  assert.deepEqual(
    layerViolations([
      edge('src/cli/x.ts', 'bench/y.ts', true),
      edge('src/formats/x.ts', 'src/crypto/y.ts'),
      edge('src/formats/x.ts', 'src/formats/z.ts'),
      edge('src/errors.ts', 'src/errors.ts'),
    ]),
    [],
    'lazy bench from the CLI, downward and same-layer imports are fine',
  );
});
