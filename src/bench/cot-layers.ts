import { checkHeader, LinkChecker } from '../chain/verify-bundle.ts';
import { identityKind } from '../chain/layers.ts';
import type { LayerKind, Link, ProofBundle } from '../chain/types.ts';
import { generateP256, p256PublicFromRaw, p256PublicRaw, p256Sign, p256Verify } from '../crypto/ecdsa.ts';
import { sha256 } from '../crypto/sha256.ts';
import { sha384 } from '../crypto/sha384.ts';
import { parseEventLog } from '../formats/parse-tdx-event-log.ts';
import { fromHex } from '../bytes/util.ts';
import { createDcapRemoteVerifier } from '../cot/dcap-remote-verifier.ts';
import { buildLayeredChain, openLayeredWorld } from '../cot/layered-chain.ts';
import { median, round } from './stats.ts';

/**
 * `catena bench cot --layers tdx,sgx` (issue 16): what a TD and a workload cost in a chain next to an SGX
 * enclave, per element kind and link type — admission (the parent's checks and signature, the chain's
 * append), offline verification of its link — against the floor of the crypto each link needs:
 *   sgx-enclave/local   1 P-256 verify (link) + SHA-256 (REPORTDATA binding)
 *   sgx-enclave/remote  3 P-256 verifies (link, quote, QE report) + SHA-256
 *   tdx-td/remote       3 P-256 verifies + SHA-256 + replaying the TD's event log (one SHA-384 per event)
 *   td-workload/measured 1 P-256 verify (link) + one SHA-384 (the image digest's measurement)
 * A TD's extra over an SGX enclave is the event-log replay (SHA-384) and, in this verifier, a full DCAP
 * verification per TD quote (no QE-context reuse for TD quotes: its PCK chain and collateral signatures
 * are found in the verifier's caches, but the quote is parsed, checked and summarised in full).
 */
export interface CotLayersResult {
  layers: ['tdx', 'sgx'];
  clouds: number;
  rounds: number;
  /** By "kind/link type": elements measured, median admission (wall, µs), median offline link check (µs). */
  elements: Record<string, { n: number; admitUs: number; verifyUs: number; floorUs: number; verifyOverFloor: number }>;
  floor: {
    p256VerifyUs: number;
    sha256Us: number;
    sha384ExtendUs: number;
    /** Events in a TD's measured-boot log (what a replay extends). */
    tdEventLogEvents: number;
    eventLogReplayUs: number;
  };
  /** Median offline check of a TD's link ÷ an SGX enclave's remote link. */
  tdOverSgxRemote: number;
}

function perCallUs(f: () => void, n: number): number {
  const samples: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    samples.push(((performance.now() - t0) * 1000) / n);
  }
  return median(samples);
}

const keyOf = (l: Link) => `${identityKind(l.childIdentity)}/${l.type}`;

export async function benchCotLayers(o: {
  clouds: number;
  rounds: number;
  workloadsPerTd?: number;
}): Promise<CotLayersResult> {
  const admit = new Map<string, number[]>();
  const verify = new Map<string, number[]>();
  let events = 0;
  const lw = await openLayeredWorld(o.clouds);
  try {
    for (let r = 0; r < o.rounds; r++) {
      const byId = new Map<string, number>();
      const { chain, builder } = await buildLayeredChain(lw, {
        workloadsPerTd: o.workloadsPerTd ?? 2,
        enclavesPerWorkload: 3,
        onElement: (el, ms) => byId.set(el.id, ms),
      });
      await builder.destroyAll();
      const b: ProofBundle = chain.toBundle();
      for (const l of b.links) {
        const k = keyOf(l);
        const list = admit.get(k) ?? [];
        list.push(byId.get(l.child)! * 1000);
        admit.set(k, list);
        if (l.evidence.kind === 'dcap-quote' && l.evidence.eventLog)
          events = parseEventLog(fromHex(l.evidence.eventLog)).events.length;
      }
      // Offline: each link checked alone, parent before child, with a verifier new to this chain.
      const head = checkHeader(b.chain, lw.world.root);
      if (!head.ok) throw new Error(`bench chain header: ${head.failure.message}`);
      const checker = new LinkChecker(
        b.chain,
        head.owner,
        new Map(b.elements.map((e) => [e.id, e])),
        b.collateral,
        createDcapRemoteVerifier(lw.world.root),
      );
      const at = new Date();
      for (const l of b.links) {
        const t0 = performance.now();
        const f = await checker.check(l, at);
        const us = (performance.now() - t0) * 1000;
        if (f) throw new Error(`bench chain: ${f.link} ${f.check}: ${f.message}`);
        const k = keyOf(l);
        const list = verify.get(k) ?? [];
        list.push(us);
        verify.set(k, list);
      }
    }
  } finally {
    await lw.close();
  }
  const kp = generateP256();
  const msg = new Uint8Array(300);
  const sig = p256Sign(kp.privateKey, msg);
  const pub = p256PublicFromRaw(p256PublicRaw(kp.publicKey));
  const p256VerifyUs = perCallUs(() => p256Verify(pub, msg, sig), 200);
  const sha256Us = perCallUs(() => sha256(msg.subarray(0, 128)), 2000);
  const reg = new Uint8Array(48);
  const dig = new Uint8Array(48);
  const sha384ExtendUs = perCallUs(() => sha384(reg, dig), 2000);
  const eventLogReplayUs = sha384ExtendUs * events;
  const floorOf = (k: string): number => {
    const [kind, type] = k.split('/') as [LayerKind, string];
    if (kind === 'td-workload') return p256VerifyUs + sha384ExtendUs;
    if (type === 'local') return p256VerifyUs + sha256Us;
    return 3 * p256VerifyUs + sha256Us + (kind === 'tdx-td' ? eventLogReplayUs : 0);
  };
  const elements: CotLayersResult['elements'] = {};
  for (const [k, list] of [...verify.entries()].sort()) {
    const v = median(list);
    const floorUs = floorOf(k);
    elements[k] = {
      n: list.length,
      admitUs: round(median(admit.get(k) ?? [0]), 1),
      verifyUs: round(v, 1),
      floorUs: round(floorUs, 1),
      verifyOverFloor: round(v / floorUs, 2),
    };
  }
  const td = elements['tdx-td/remote']?.verifyUs ?? NaN;
  const sgx = elements['sgx-enclave/remote']?.verifyUs ?? NaN;
  return {
    layers: ['tdx', 'sgx'],
    clouds: o.clouds,
    rounds: o.rounds,
    elements,
    floor: {
      p256VerifyUs: round(p256VerifyUs, 1),
      sha256Us: round(sha256Us, 2),
      sha384ExtendUs: round(sha384ExtendUs, 2),
      tdEventLogEvents: events,
      eventLogReplayUs: round(eventLogReplayUs, 1),
    },
    tdOverSgxRemote: round(td / sgx, 2),
  };
}
