// The chain as a Cytoscape graph: clouds are boxes containing their platforms, platforms contain their
// enclaves; local links solid, remote links dashed; each element coloured by its state. Above
// GROUP_ABOVE (graph-loader.ts) elements, platforms start collapsed (one node with a count) and expand
// on click. Loaded on demand (graph-loader.ts).
import cytoscape from 'cytoscape';
import type { ElementRow } from './api.ts';

export const STATE_COLOURS: Record<string, string> = {
  valid: '#2e7d32',
  'at-risk': '#b07d00',
  degraded: '#d35400',
  stale: '#616161',
  quarantined: '#6a1b9a',
  revoked: '#c62828',
};

export interface GraphInput {
  rows: ElementRow[];
  states: Map<string, string>;
  cloudOf: (r: ElementRow) => string;
  expanded: Set<string>;
  grouped: boolean;
}

const platformNode = (p: string) => `platform:${p}`;
const cloudNode = (c: string) => `cloud:${c}`;

/** The Cytoscape element definitions of the chain (grouped platforms collapsed unless expanded). */
export function graphElements(g: GraphInput): cytoscape.ElementDefinition[] {
  const out: cytoscape.ElementDefinition[] = [];
  const clouds = new Set<string>();
  const platforms = new Map<string, { cloud: string; n: number }>();
  for (const r of g.rows) {
    const cloud = g.cloudOf(r);
    clouds.add(cloud);
    const p = platforms.get(r.element.platform) ?? { cloud, n: 0 };
    p.n++;
    platforms.set(r.element.platform, p);
  }
  for (const c of clouds) out.push({ data: { id: cloudNode(c), label: c }, classes: 'cloud' });
  const open = (p: string) => !g.grouped || g.expanded.has(p);
  for (const [p, { cloud, n }] of platforms)
    out.push({
      data: {
        id: platformNode(p),
        parent: cloudNode(cloud),
        label: open(p) ? `platform ${p.slice(0, 10)}…` : `platform ${p.slice(0, 10)}… (${n} elements)`,
        platform: p,
      },
      classes: open(p) ? 'platform' : 'platform group',
    });
  const visible = new Map<string, string>(); // element id → the node it is drawn in
  for (const r of g.rows) {
    const p = r.element.platform;
    if (open(p)) {
      visible.set(r.id, r.id);
      const state = g.states.get(r.id) ?? 'valid';
      out.push({
        data: { id: r.id, parent: platformNode(p), label: r.id.slice(0, 8), state },
        classes: `element ${state}`,
      });
    } else visible.set(r.id, platformNode(p));
  }
  const seen = new Set<string>();
  for (const r of g.rows) {
    const parent = r.parent ?? r.element.parent;
    if (!parent) continue;
    const s = visible.get(parent);
    const t = visible.get(r.id);
    if (!s || !t || s === t) continue;
    const id = `${s}->${t}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ data: { id, source: s, target: t }, classes: r.linkType === 'remote' ? 'remote' : 'local' });
  }
  return out;
}

const style: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: { label: 'data(label)', 'font-size': 10, 'text-valign': 'bottom', 'text-margin-y': 3, color: '#1b1b1b' },
  },
  {
    selector: 'node.cloud',
    style: {
      'background-color': '#e3ecf7',
      'border-color': '#1f4e8c',
      'border-width': 2,
      shape: 'round-rectangle',
      'text-valign': 'top',
      'font-size': 13,
      'font-weight': 'bold',
      padding: '18px',
    },
  },
  {
    selector: 'node.platform',
    style: {
      'background-color': '#f7f7f7',
      'border-color': '#555',
      'border-width': 1,
      shape: 'round-rectangle',
      'text-valign': 'top',
      padding: '10px',
    },
  },
  {
    selector: 'node.group',
    style: { width: 60, height: 40, 'background-color': '#cfd8dc', 'text-valign': 'center', 'border-style': 'dashed' },
  },
  { selector: 'node.element', style: { width: 22, height: 22, 'border-width': 2, 'border-color': '#fff' } },
  ...Object.entries(STATE_COLOURS).map(([s, c]) => ({
    selector: `node.element.${s}`,
    style: { 'background-color': c },
  })),
  { selector: 'node.element.revoked', style: { shape: 'diamond' } },
  { selector: 'node:selected', style: { 'border-color': '#000', 'border-width': 3 } },
  {
    selector: 'edge',
    style: { width: 2, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'arrow-scale': 0.8 },
  },
  {
    selector: 'edge.local',
    style: { 'line-color': '#455a64', 'target-arrow-color': '#455a64', 'line-style': 'solid' },
  },
  {
    selector: 'edge.remote',
    style: { 'line-color': '#1565c0', 'target-arrow-color': '#1565c0', 'line-style': 'dashed', width: 2.5 },
  },
];

const STEP = 44; // px between element nodes
const GAP = 70; // px between platform boxes (twice that between clouds)
const LABEL = 200; // px a platform's label takes ("platform 0123456789… (500 elements)")

/**
 * Positions without a force-directed layout (cose costs ~150 ms even on 20 grouped platforms, and
 * seconds on expanded ones): clouds side by side, each cloud's platforms in a square-ish grid of
 * boxes, each expanded platform's elements in a grid inside its box. O(elements); compound boxes
 * (clouds, platforms) size themselves around their children.
 */
export function boxPositions(elements: cytoscape.ElementDefinition[]): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  const inPlatform = new Map<string, string[]>(); // platform node → its element nodes
  const platformsOf = new Map<string, string[]>(); // cloud node → its platform nodes
  for (const e of elements) {
    const d = e.data as { id?: string; parent?: string; source?: string; platform?: string };
    if (d.source !== undefined || !d.id || !d.parent) continue;
    const into = e.classes?.includes('element') ? inPlatform : d.platform !== undefined ? platformsOf : undefined;
    if (!into) continue;
    const list = into.get(d.parent) ?? [];
    list.push(d.id);
    into.set(d.parent, list);
  }
  let cloudX = 0;
  for (const platforms of platformsOf.values()) {
    const perRow = Math.ceil(Math.sqrt(platforms.length));
    let y = 0;
    let widest = 0;
    for (let r = 0; r * perRow < platforms.length; r++) {
      let x = cloudX;
      let tallest = 0;
      for (const p of platforms.slice(r * perRow, (r + 1) * perRow)) {
        const kids = inPlatform.get(p) ?? [];
        const cols = Math.max(1, Math.ceil(Math.sqrt(kids.length)));
        const rows = Math.max(1, Math.ceil(kids.length / cols));
        if (kids.length === 0) out.set(p, { x, y });
        kids.forEach((k, i) => out.set(k, { x: x + (i % cols) * STEP, y: y + Math.floor(i / cols) * STEP }));
        x += Math.max((cols - 1) * STEP, LABEL) + GAP;
        tallest = Math.max(tallest, (rows - 1) * STEP);
      }
      widest = Math.max(widest, x - cloudX);
      y += tallest + GAP + 40;
    }
    cloudX += widest + 2 * GAP;
  }
  return out;
}

/** Draws the graph in `container`; `onPick` gets an element id (or a platform id for a group). */
export function drawGraph(
  container: HTMLElement,
  g: GraphInput,
  onPick: (kind: 'element' | 'group', id: string) => void,
): cytoscape.Core {
  const elements = graphElements(g);
  // A small ungrouped chain gets the force-directed layout; a grouped or large one, the boxes.
  const small = !g.grouped && elements.length <= 400;
  const positions = small ? undefined : boxPositions(elements);
  const cy = cytoscape({
    container,
    elements,
    style,
    layout: positions
      ? { name: 'preset', positions: Object.fromEntries(positions), fit: true }
      : { name: 'cose', animate: false },
    wheelSensitivity: 0.3,
    boxSelectionEnabled: false,
  });
  cy.on('tap', 'node.element', (e) => onPick('element', (e.target as cytoscape.NodeSingular).id()));
  cy.on('tap', 'node.group, node.platform', (e) => {
    const n = e.target as cytoscape.NodeSingular;
    if (n.hasClass('group') || g.grouped) onPick('group', String(n.data('platform')));
  });
  return cy;
}

/** Recolours the drawn elements (live updates: no new layout). */
export function recolour(cy: cytoscape.Core, states: Map<string, string>): void {
  cy.batch(() => {
    cy.nodes('.element').forEach((n) => {
      const s = states.get(n.id()) ?? 'valid';
      if (n.data('state') === s) return;
      n.classes(`element ${s}`);
      n.data('state', s);
    });
  });
}
