import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ELEMENT_STATES, type ElementState } from './element-health.ts';

/** Self-management's Prometheus metrics (docs/self-management.md, "Metrics"). */
export interface SelfManageMetrics {
  detected(seconds: number): void;
  healed(seconds: number): void;
  states(counts: Record<ElementState, number>): void;
  collateralEvent(type: string): void;
}

export function createSelfManageMetrics(registry: Registry): SelfManageMetrics {
  const registers = [registry];
  const buckets = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600];
  const detect = new Histogram({
    name: 'catena_time_to_detect_seconds',
    help: 'from a collateral change published (its issue date) to the manager seeing it',
    buckets,
    registers,
  });
  const heal = new Histogram({
    name: 'catena_time_to_heal_seconds',
    help: 'from an element leaving the valid state to a reaction healing it (re-attested or migrated)',
    buckets,
    registers,
  });
  const elements = new Gauge({
    name: 'catena_elements',
    help: 'enclave elements by self-management state',
    labelNames: ['state'],
    registers,
  });
  const events = new Counter({
    name: 'catena_collateral_events_total',
    help: 'collateral monitor events (changed, refused, unreachable, stale)',
    labelNames: ['type'],
    registers,
  });
  return {
    detected: (s) => detect.observe(s),
    healed: (s) => heal.observe(s),
    states: (counts) => {
      for (const s of ELEMENT_STATES) elements.set({ state: s }, counts[s]);
    },
    collateralEvent: (type) => events.inc({ type }),
  };
}
