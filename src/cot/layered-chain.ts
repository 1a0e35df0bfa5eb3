import type { KeyObject } from 'node:crypto';
import { hex } from '../bytes/util.ts';
import { Chain } from '../chain/chain.ts';
import type { ChainPolicy, Element } from '../chain/types.ts';
import { generateP256, type P256KeyPair } from '../crypto/ecdsa.ts';
import { generateVendorKey } from '../crypto/rsa3072.ts';
import { replayRtmrs } from '../formats/replay-rtmrs.ts';
import { bootEvents } from '../tdx/measured-boot.ts';
import { buildTdImage } from '../tdx/td-image.ts';
import { measureMrtd } from '../tdx/mrtd.ts';
import { dcapRemoteVerifier } from './dcap-remote-verifier.ts';
import { LayerBuilder } from './layer-builder.ts';
import { TdxHost, type TdElement } from './td-element.ts';
import { EmulatedWorld } from './world.ts';

/** The container images each cloud's TD runs (measured into its RTMR3), by cloud index. */
export function workloadsOf(cloud: number, perTd: number): string[] {
  return Array.from(
    { length: perTd },
    (_, w) =>
      `sha256:${hex(new TextEncoder().encode(`catena-w${cloud}-${w}`))
        .padEnd(64, '0')
        .slice(0, 64)}`,
  );
}

/**
 * The chain policy of a layered chain: SGX enclaves signed by `mrSigner`; TDs of the emulated TD image
 * (MRTD, RTMR0..2 of its measured boot, DEBUG refused, MRCONFIGID/MROWNER); workloads from `images`.
 */
export function layeredPolicy(mrSigner: string, images: string[]): ChainPolicy {
  const image = buildTdImage();
  const r = replayRtmrs(bootEvents());
  return {
    identities: [{ mrSigner, isvProdId: 1, minIsvSvn: 1 }],
    tdx: {
      mrTd: [hex(measureMrtd(image))],
      rtmr0: hex(r[0]),
      rtmr1: hex(r[1]),
      rtmr2: hex(r[2]),
      allowDebug: false,
      mrConfigId: hex(image.config.mrConfigId),
      mrOwner: hex(image.config.mrOwner),
    },
    workloads: { imageDigests: images },
  };
}

export interface LayeredWorld {
  world: EmulatedWorld;
  /** One TDX host per cloud. */
  hosts: TdxHost[];
  close(): Promise<void>;
}

/** An SGX world of `clouds` clouds (one SGX platform each) and one TDX host per cloud, same manufacturer. */
export async function openLayeredWorld(clouds: number): Promise<LayeredWorld> {
  const world = await EmulatedWorld.create({ clouds, platformsPerCloud: 1 });
  const hosts: TdxHost[] = [];
  try {
    for (let c = 0; c < clouds; c++)
      hosts.push(await TdxHost.open(world.manufacturer, `${world.platforms[c].cloud}/tdx0`, world.platforms[c].cloud));
    await world.collateralFor();
  } catch (e) {
    for (const h of hosts) await h.close();
    await world.close();
    throw e;
  }
  return {
    world,
    hosts,
    async close() {
      for (const h of hosts) await h.close();
      await world.close();
    },
  };
}

export interface LayeredChainOptions {
  /** Workloads per TD (≥ 1). */
  workloadsPerTd?: number;
  /** SGX enclaves each workload admits on the next cloud (the first remote, the rest local to it). */
  enclavesPerWorkload?: number;
  owner?: P256KeyPair;
  name?: string;
  /** Each element appended, with its kind and how long its admission took (ms). */
  onElement?: (el: Element, ms: number) => void;
  /** Policy change (tests: a policy the good chain fails). */
  policy?: (p: ChainPolicy) => ChainPolicy;
  /** The chain's id (a manager's chain the links are sent on to), and the nonce its first link answers. */
  chainId?: string;
  firstNonce?: string;
  /** The SGX enclaves' vendor (signing key of their image); default a fresh one. */
  vendor?: KeyObject;
  /** See LayerBuilder.onCommit. */
  onCommit?: LayerBuilder['onCommit'];
}

/**
 * The three-cloud shape of `chain build --layers tdx,sgx` and `demo --layers`, over n clouds:
 *
 *   RoT → platform → TD-QE → TD(cloud 0) ─measured→ workload ─remote→ SGX enclave (cloud 1) ─local→ …
 *                                          SGX enclave (cloud 1) ─remote→ TD(cloud 1) ─measured→ workload ─remote→ SGX (cloud 2) …
 *                                          TD(cloud i) ─remote→ TD(cloud i+1) as well when the SGX path is not taken
 *
 * Every TD hosts `workloadsPerTd` workloads; each workload admits SGX enclaves on the next cloud; the
 * first SGX enclave of cloud i+1 admits that cloud's TD; the last cloud's workloads close the ring on cloud 0.
 */
export async function buildLayeredChain(
  lw: LayeredWorld,
  opts: LayeredChainOptions = {},
): Promise<{ chain: Chain; builder: LayerBuilder; tds: TdElement[] }> {
  const { world, hosts } = lw;
  const clouds = hosts.length;
  const perTd = Math.max(1, opts.workloadsPerTd ?? 1);
  const perWorkload = Math.max(1, opts.enclavesPerWorkload ?? 2);
  const vendor = opts.vendor ?? generateVendorKey();
  const image = world.elementImage(vendor);
  const images = Array.from({ length: clouds }, (_, c) => workloadsOf(c, perTd)).flat();
  const base = layeredPolicy(hex(image.mrSigner), images);
  const chain = Chain.create({
    name: opts.name ?? 'catena layered chain',
    root: world.root,
    emulatedRoot: true,
    policy: opts.policy ? opts.policy(base) : base,
    owner: opts.owner ?? generateP256(),
    ...(opts.chainId ? { id: opts.chainId } : {}),
    remote: dcapRemoteVerifier(world.root),
    now: new Date(),
  });
  const b = new LayerBuilder(chain, world, world.root);
  if (opts.onCommit) b.onCommit = opts.onCommit;
  const timed = async (f: () => Promise<Element>) => {
    const t0 = performance.now();
    const el = await f();
    opts.onElement?.(el, performance.now() - t0);
    return el;
  };
  const tds: TdElement[] = [];
  let tdId = '';
  // The first SGX enclave the previous cloud's workloads admitted (it runs on this cloud).
  let firstSgx = '';
  for (let c = 0; c < clouds; c++) {
    const td = hosts[c].launchTd({ workloads: workloadsOf(c, perTd) });
    tds.push(td);
    if (c === 0) tdId = (await timed(() => b.first(td, opts.firstNonce ? { nonce: opts.firstNonce } : {}))).id;
    else {
      // Cloud c's TD: admitted by an SGX enclave on cloud c (the first one cloud c-1's workload admitted).
      const admitter = firstSgx;
      tdId = (await timed(() => b.remote(admitter, td))).id;
    }
    firstSgx = '';
    const next = (c + 1) % clouds;
    for (const digest of workloadsOf(c, perTd)) {
      const w = (await timed(() => b.measured(tdId, td.workload(digest)))).id;
      let prev = '';
      for (let e = 0; e < perWorkload; e++) {
        const h = await world.loadElement(next, image);
        const parent = prev;
        const el = await timed(() => (e === 0 ? b.remote(w, h) : b.local(parent, h)));
        if (e === 0) prev = el.id;
        if (!firstSgx) firstSgx = el.id;
      }
    }
  }
  // A TD admits another TD on another platform: cloud 0's TD admits a second TD on the last cloud.
  if (clouds > 1) {
    const extra = hosts[clouds - 1].launchTd({ workloads: workloadsOf(clouds - 1, perTd) });
    tds.push(extra);
    await timed(() => b.remote(chain.childrenOf(null)[0], extra));
  }
  return { chain, builder: b, tds };
}
