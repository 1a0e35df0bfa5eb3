import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { Registry } from 'prom-client';
import type { Store } from '../../store/types.ts';
import type { ChainService } from '../chain-service.ts';
import type { ManagerMetrics } from '../manager-metrics.ts';
import type { ManagerJobs } from '../manager-jobs.ts';
import type { EarSigner } from '../ear.ts';
import type { AgentHostPolicy } from '../agent-url.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { CollateralBlob } from '../../chain/types.ts';

/** What the manager's route plugins share (made once by buildManager). */
export interface ManagerContext {
  store: Store;
  chains: ChainService;
  clock: () => Date;
  kid: string;
  jwk: JWK;
  publicKey: KeyObject;
  registry: Registry;
  metrics: ManagerMetrics;
  jobs: ManagerJobs;
  ear: EarSigner;
  agentHosts: AgentHostPolicy;
  /** Durable jobs (webhook deliveries, self-management actions). */
  runner: JobRunner;
  /** With a PCS: the collateral the monitor holds now for a quote's platform (standard, and early when staged). */
  heldCollateral?(quote: Uint8Array): { standard?: CollateralBlob; early?: CollateralBlob };
}
