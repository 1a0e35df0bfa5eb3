import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ElementRow } from '../../../web/src/api.ts';
import { boxPositions, graphElements } from '../../../web/src/graph.ts';

/**
 * The dashboard's placement of a grouped graph (no force-directed layout): every drawn node gets a
 * position, elements of an expanded platform sit in a grid inside their platform's box, and no two
 * platforms' boxes, nor two clouds, overlap.
 */
const rows: ElementRow[] = Array.from({ length: 3000 }, (_, i) => ({
  id: `e${i}`,
  parent: i === 0 ? null : `e${Math.floor((i - 1) / 2)}`,
  status: 'active',
  linkType: 'local',
  element: { id: `e${i}`, kind: 'enclave', parent: null, platform: `p${i % 7}`, cloud: `c${(i % 7) % 3}` },
}));

type Box = { x0: number; x1: number; y0: number; y1: number };
const overlap = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

test('grouped with one platform expanded: positions for every node drawn, boxes and clouds apart', () => {
  const elements = graphElements({
    rows,
    states: new Map(),
    cloudOf: (r) => r.element.cloud!,
    expanded: new Set(['p3']),
    grouped: true,
  });
  const pos = boxPositions(elements);
  const leaves = elements.filter(
    (e) =>
      e.data.source === undefined && (String(e.classes).includes('element') || String(e.classes).includes('group')),
  );
  // p3 is open (its 428 or 429 elements drawn), the six other platforms are one node each.
  assert.equal(leaves.filter((e) => String(e.classes).includes('group')).length, 6);
  assert.equal(
    leaves.filter((e) => String(e.classes).includes('element')).length,
    rows.filter((r) => r.element.platform === 'p3').length,
  );
  for (const e of leaves) assert.ok(pos.has(e.data.id!), `no position for ${e.data.id}`);
  const open = leaves.filter((e) => String(e.classes).includes('element')).map((e) => pos.get(e.data.id!)!);
  assert.equal(new Set(open.map((p) => `${p.x},${p.y}`)).size, open.length, 'two elements on one spot');

  // Each platform's box (its nodes' extent, plus the label width a group needs) and each cloud's.
  const boxOf = (ids: string[], pad: number): Box => {
    const ps = ids.map((id) => pos.get(id)!);
    return {
      x0: Math.min(...ps.map((p) => p.x)) - pad,
      x1: Math.max(...ps.map((p) => p.x)) + pad,
      y0: Math.min(...ps.map((p) => p.y)) - pad,
      y1: Math.max(...ps.map((p) => p.y)) + pad,
    };
  };
  const platformIds = (p: string) =>
    leaves.filter((e) => e.data.parent === `platform:${p}` || e.data.id === `platform:${p}`).map((e) => e.data.id!);
  const platforms = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
  const boxes = platforms.map((p) => boxOf(platformIds(p), 30));
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++)
      assert.ok(!overlap(boxes[i], boxes[j]), `${platforms[i]} and ${platforms[j]}`);
  const clouds = ['c0', 'c1', 'c2'].map((c) =>
    boxOf(platforms.filter((_, i) => i % 3 === Number(c.slice(1))).flatMap(platformIds), 40),
  );
  for (let i = 0; i < clouds.length; i++)
    for (let j = i + 1; j < clouds.length; j++) assert.ok(!overlap(clouds[i], clouds[j]), `clouds ${i} and ${j}`);
});
