// Cytoscape is most of the app's script: it is its own chunk, fetched while the app signs in and reads
// the chain, so the shell and the table render without waiting to parse it (the CSP allows 'self').
import type * as Graph from './graph.ts';

/** Above this many elements the graph groups each platform's elements into one node. */
export const GROUP_ABOVE = 500;

let graph: Promise<typeof Graph> | undefined;
export const loadGraph = (): Promise<typeof Graph> => (graph ??= import('./graph.ts'));
