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
export {
  Chain,
  verifyBundle,
  verifyBundleV2,
  BundleWriter,
  ChainError,
  type ProofBundle,
  type ChainPolicy,
  type ChainVerification,
} from '../chain/index.ts';
