import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/types.ts';
import { SqlStore } from '../store/sql-store.ts';
import { SqliteDriver } from '../store/sqlite-driver.ts';

/** The manager's Prometheus metrics, in a registry of its own (never the global one). */
export interface ManagerMetrics {
  collateralFetches: Counter;
  collateralHits: Counter;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  appends: Counter<'result' | 'type'>;
  agents: Gauge<'status'>;
  sseClients: Gauge;
  reattests: Counter<'verdict'>;
  jobFailures: Counter<'job'>;
  /** Durable jobs by state (refreshed from the store when metrics are read). */
  jobs: Gauge<'state'>;
  webhookDeliveries: Counter<'outcome'>;
}

export function createManagerMetrics(registry: Registry, store: Store): ManagerMetrics {
  const registers = [registry];
  const m: ManagerMetrics = {
    collateralFetches: new Counter({
      name: 'catena_collateral_fetches_total',
      help: 'collateral sets fetched from the PCS (cache misses)',
      registers,
    }),
    collateralHits: new Counter({
      name: 'catena_collateral_cache_hits_total',
      help: 'remote appends served PCS collateral from the cache',
      registers,
    }),
    httpRequests: new Counter({
      name: 'catena_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'catena_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    appends: new Counter({
      name: 'catena_element_appends_total',
      help: 'element appends by result',
      labelNames: ['result', 'type'],
      registers,
    }),
    agents: new Gauge({
      name: 'catena_agents',
      help: 'registered agents by status',
      labelNames: ['status'],
      registers,
    }),
    sseClients: new Gauge({ name: 'catena_sse_clients', help: 'open /v1/events streams', registers }),
    reattests: new Counter({
      name: 'catena_reattestations_total',
      help: 're-attestations by verdict',
      labelNames: ['verdict'],
      registers,
    }),
    jobFailures: new Counter({
      name: 'catena_background_job_failures_total',
      help: 'failed runs of background jobs (checkpoint, agent health, re-attestation)',
      labelNames: ['job'],
      registers,
    }),
    jobs: new Gauge({
      name: 'catena_jobs',
      help: 'durable jobs (webhook deliveries, self-management actions) by state',
      labelNames: ['state'],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'catena_webhook_deliveries_total',
      help: 'webhook delivery attempts by outcome: delivered, failed (retried), dead (given up)',
      labelNames: ['outcome'],
      registers,
    }),
  };
  // The event loop's delay (perf_hooks, 10 ms resolution) over the window since the previous read of
  // /metrics: each read reports that window and starts the next (catena bench agents reads it twice).
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let loopWindow: { p99: number; max: number } | undefined;
  const loopRead = () => {
    if (!loopWindow) {
      loopWindow = { p99: loop.percentile(99) / 1e9, max: loop.max / 1e9 };
      loop.reset();
      setImmediate(() => (loopWindow = undefined));
    }
    return loopWindow;
  };
  new Gauge({
    name: 'catena_event_loop_delay_p99_seconds',
    help: "99th percentile of the event loop's delay since the previous read of the metrics",
    registers,
    collect() {
      this.set(loopRead().p99);
    },
  });
  new Gauge({
    name: 'catena_event_loop_delay_max_seconds',
    help: 'largest delay of the event loop since the previous read of the metrics',
    registers,
    collect() {
      this.set(loopRead().max);
    },
  });
  const sqlite = store instanceof SqlStore && store.driver instanceof SqliteDriver ? store.driver : undefined;
  const pgBatches = store instanceof SqlStore && store.appendBatchStats() ? store : undefined;
  const stats = sqlite ? () => sqlite.stats() : pgBatches ? () => pgBatches.appendBatchStats()! : undefined;
  if (stats) {
    // Group commit at work: transactions / commits is the mean batch size.
    new Gauge({
      name: 'catena_store_write_transactions',
      help: 'SQLite write transactions, or PostgreSQL batched appends, committed since start',
      registers,
      collect() {
        this.set(stats().transactions);
      },
    });
    new Gauge({
      name: 'catena_store_commits',
      help: 'SQLite COMMITs (each followed by one WAL fsync), or PostgreSQL catena_append_batch calls, since start',
      registers,
      collect() {
        this.set(stats().commits);
      },
    });
  }
  return m;
}
