import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ManagerFixture } from './fixture.ts';

let f: ManagerFixture;
before(async () => {
  f = await ManagerFixture.create();
});
after(() => f.close());

test('/openapi.json is a valid OpenAPI 3.1 document; every operation has a 2xx response schema', async () => {
  const doc = (await f.req('GET', '/openapi.json', undefined, null)).json();
  await SwaggerParser.validate(structuredClone(doc));
  const ops = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([p, item]) =>
    Object.entries(item).map(([m, op]) => ({ name: `${m.toUpperCase()} ${p}`, op })),
  );
  assert.ok(ops.length >= 25, `${ops.length} operations`);
  const missing = ops.filter(
    ({ op }) =>
      !Object.entries(op.responses ?? {}).some(
        ([code, r]: [string, any]) =>
          /^2\d\d$/.test(code) && (code === '204' || Object.values(r.content ?? {}).some((c: any) => c?.schema)),
      ),
  );
  assert.deepEqual(
    missing.map((o) => o.name),
    [],
  );
});

test('every registered route is in the document or deliberately hidden (the meta routes)', async () => {
  const doc = (await f.req('GET', '/openapi.json', undefined, null)).json();
  const documented = new Set(
    Object.entries(doc.paths as Record<string, object>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
    ),
  );
  const hidden = new Set(['GET /openapi.json', 'GET /docs', 'GET /ui', 'GET /ui/', 'GET /ui/*']);
  const routes = f.app.routeTable.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);
  assert.ok(routes.length >= 25);
  for (const name of routes) if (!hidden.has(name)) assert.ok(documented.has(name), `${name} is not in /openapi.json`);
});
