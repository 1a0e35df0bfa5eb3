import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decadeLabel, escapeXml, logLogSvg } from '../../../src/bench/plot.ts';

/** A minimal XML well-formedness check: every tag closes in order, attributes quoted, no stray '<' or '&'. */
function assertWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const re = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(body))) {
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(m[5]), `bare & in text: ${m[5].slice(0, 40)}`);
      continue;
    }
    if (m[1]) assert.equal(stack.pop(), m[2], `closing </${m[2]}>`);
    else if (!m[4]) stack.push(m[2]);
  }
  assert.equal(pos, body.length, `unparsed input at ${pos}: ${body.slice(pos, pos + 60)}`);
  assert.deepEqual(stack, [], 'unclosed elements');
}

test('log–log SVG: well-formed, labelled axes, a legend entry and a path per series, decade ticks', () => {
  const svg = logLogSvg({
    title: 'build <time> & size',
    xLabel: 'CoT size (elements)',
    yLabel: 'time (ms)',
    note: 'a "note"',
    series: [
      {
        name: 'build',
        color: '#1f77b4',
        points: [
          [1, 50],
          [10, 60],
          [100, 150],
          [1000, 1100],
        ],
      },
      {
        name: 'floor',
        color: '#2ca02c',
        dashed: true,
        points: [
          [10, 5],
          [100, 50],
          [1000, 500],
        ],
      },
      {
        name: 'empty',
        color: 'red',
        points: [
          [0, 1],
          [10, -1],
        ],
      },
    ],
  });
  assertWellFormed(svg);
  assert.match(svg, /^<\?xml version="1.0"/);
  assert.ok(svg.includes('>CoT size (elements)</text>') && svg.includes('>time (ms)</text>'));
  assert.ok(svg.includes('build &lt;time&gt; &amp; size'), 'title escaped');
  for (const n of ['build', 'floor', 'empty']) assert.ok(svg.includes(`>${n}</text>`), `legend ${n}`);
  assert.equal((svg.match(/<path /g) ?? []).length, 2, 'series without positive points draw nothing');
  for (const t of ['1', '10', '100', '1k']) assert.ok(svg.includes(`>${t}</text>`), `tick ${t}`);
  assert.ok(svg.includes('stroke-dasharray'));
  // Points map inside the plot box.
  for (const m of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
    const [x, y] = [Number(m[1]), Number(m[2])];
    assert.ok(x >= 78 && x <= 760 - 24 && y >= 46 && y <= 500 - 58, `point ${x},${y} off the plot`);
  }
});

test('the well-formedness check itself catches broken XML', () => {
  assert.throws(() => assertWellFormed('<svg><g></svg>'));
  assert.throws(() => assertWellFormed('<svg>a & b</svg>'));
});

test('decade labels and XML escaping', () => {
  assert.deepEqual([-2, 0, 1, 3, 5, 6].map(decadeLabel), ['0.01', '1', '10', '1k', '100k', '1M']);
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
});
