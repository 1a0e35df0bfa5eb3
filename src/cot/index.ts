/**
 * The CoT API: what an application developer imports to build chains of trust over emulated (or
 * real) SGX platforms. See docs/cot-api.md.
 */
export { EmulatedWorld, type EmulatedWorldOptions, type WorldPlatform } from './world.ts';
export { CotBuilder, type QuoteSource } from './builder.ts';
export { ElementHandle, buildElementImage } from './element.ts';
export { dcapRemoteVerifier, createDcapRemoteVerifier } from './dcap-remote-verifier.ts';
export { LinkCryptoPool } from './link-crypto-pool.ts';
export { bundleFileSink, fileChunks } from './bundle-file.ts';
// Cross-layer chains (issue 16): TDX hosts, TDs and their workloads next to SGX enclaves.
export { LayerBuilder } from './layer-builder.ts';
export { TdxHost, TdElement, WorkloadElement, type Admitter } from './td-element.ts';
export {
  buildLayeredChain,
  openLayeredWorld,
  layeredPolicy,
  workloadsOf,
  type LayeredWorld,
  type LayeredChainOptions,
} from './layered-chain.ts';
export {
  Chain,
  verifyBundle,
  verifyBundleV2,
  BundleWriter,
  ChainError,
  type ProofBundle,
  type ChainPolicy,
  type ChainVerification,
  type EnclaveIdentity,
  type ElementIdentity,
  type TdIdentity,
  type WorkloadIdentity,
  type LayerKind,
} from '../chain/index.ts';
