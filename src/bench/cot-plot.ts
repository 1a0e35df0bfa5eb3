import type { CotBenchResult } from './cot.ts';
import { logLogSvg } from './plot.ts';

/**
 * The seed's figure, redrawn: build and offline-verify time against CoT size (log–log), beside the
 * crypto floor (floor per link × links, plus the measured start-up offset for reference) and a
 * linear reference through the largest size.
 */
export function cotPlotSvg(r: CotBenchResult): string {
  const floorAt = (s: CotBenchResult['sizes'][number]) =>
    (s.links.local * r.floorUs.local + s.links.remote * r.floorUs.remote) / 1000;
  const withLinks = r.sizes.filter((s) => s.size > 1);
  const last = r.sizes.at(-1)!;
  return logLogSvg({
    title: `Building a chain of trust: time against CoT size (${r.runtime}, ${r.platforms} platforms, ${r.clouds} clouds)`,
    width: 900,
    height: 540,
    note: `offset ${r.startupOffsetMs} ms; per element: local ${r.marginalUs.local} µs (${r.ratio.local}× floor), remote ${r.marginalUs.remote} µs (${r.ratio.remote}× floor); CPU time; Node ${r.node}, ${r.at.slice(0, 10)}`,
    xLabel: 'CoT size (elements)',
    yLabel: 'time (ms)',
    series: [
      { name: 'build (CPU)', color: '#1f77b4', points: r.sizes.map((s) => [s.size, s.cpuMs] as const) },
      {
        name: 'build (wall)',
        color: '#aec7e8',
        dashed: true,
        points: r.sizes.map((s) => [s.size, s.buildMs] as const),
      },
      {
        name: 'verify bundle offline (CPU)',
        color: '#d62728',
        points: r.sizes.map((s) => [s.size, s.verifyCpuMs] as const),
      },
      {
        name: 'crypto floor of the links',
        color: '#2ca02c',
        dashed: true,
        points: withLinks.map((s) => [s.size, floorAt(s)] as const),
      },
      {
        name: 'linear reference',
        color: '#999999',
        dashed: true,
        markers: false,
        points: [
          [1, last.cpuMs / last.size],
          [last.size, last.cpuMs],
        ],
      },
    ],
  });
}
