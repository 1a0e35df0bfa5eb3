import type { Command } from 'commander';

/** A command module registers its subcommands on the program. */
export interface CommandModule {
  register(program: Command): void;
}

/**
 * The top-level commands, with what `catena --help` says about them and the modules that register
 * them (one file per subcommand in this folder). main loads only the modules of the command that
 * runs, so `catena --help` and `catena X --help` never load the heavy layers (a test holds these
 * descriptions equal to the ones the modules register).
 */
export interface CommandEntry {
  name: string;
  description: string;
  load: Array<() => Promise<CommandModule>>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'demo',
    description:
      'start an emulated PCS, the manager and three agents (clouds) on loopback, build a chain across them, verify it',
    load: [() => import('./demo.ts')],
  },
  {
    name: 'enclave',
    description: 'build emulated SGX enclaves (JavaScript module + config → SGXS + SIGSTRUCT)',
    load: [() => import('./enclave.ts')],
  },
  {
    name: 'measure',
    description: 'compute MRENCLAVE of an SGXS measurement stream (ECREATE, EADD, EEXTEND records)',
    load: [() => import('./measure.ts')],
  },
  {
    name: 'sigstruct',
    description: 'show, verify and sign SGX SIGSTRUCTs (RSA-3072, e = 3)',
    load: [() => import('./sigstruct.ts')],
  },
  {
    name: 'emulate',
    description: 'run pieces of the emulated SGX platform and manufacturer',
    load: [
      () => import('./emulate-local-attest.ts'),
      () => import('./emulate-pcs.ts'),
      () => import('./emulate-quote.ts'),
      () => import('./emulate-td-quote.ts'),
    ],
  },
  {
    name: 'quote',
    description: 'DCAP quotes: verify real Intel and emulated quotes',
    load: [() => import('./quote.ts')],
  },
  {
    name: 'channel',
    description: 'attested secure channels: RA-TLS terminated inside an emulated enclave',
    load: [() => import('./channel.ts')],
  },
  { name: 'chain', description: 'build and verify chains of trust', load: [() => import('./chain.ts')] },
  {
    name: 'manager',
    description: 'run the chain-of-trust manager (REST API, OpenAPI at /openapi.json)',
    load: [() => import('./manager.ts')],
  },
  {
    name: 'agent',
    description: 'host emulated SGX platforms of one cloud and perform attestations for the CoT manager',
    load: [() => import('./agent.ts')],
  },
  { name: 'admin', description: 'administer the CoT manager', load: [() => import('./admin.ts')] },
  { name: 'audit', description: "the manager's audit trail", load: [() => import('./audit.ts')] },
  { name: 'platform', description: 'platforms known to a CoT manager', load: [() => import('./platform.ts')] },
  {
    name: 'bench',
    description: 'benchmarks: each prints JSON with --json and can draw a plot',
    load: [
      () => import('./bench-verify.ts'),
      () => import('./bench-cot.ts'),
      () => import('./bench-channel.ts'),
      () => import('./bench-manager.ts'),
      () => import('./bench-agents.ts'),
      () => import('./bench-startup.ts'),
      () => import('./bench-selfmanage.ts'),
    ],
  },
];
