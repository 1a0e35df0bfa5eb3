/**
 * A proof bundle built directly, without an emulated world: real owner and element keys and signatures,
 * REPORTs and TD event logs built field by field, and a remote verifier that answers each quote (opaque
 * bytes here) with the result the test chose. Milliseconds to build, so the chain verifier's checks can be
 * driven one by one (and by mutation testing) without the 3–8 s of a chain over an emulated world.
 */
import type { KeyObject } from 'node:crypto';
import { hex } from '../../src/bytes/util.ts';
import { generateP256, p256PublicRaw, p256Sign } from '../../src/crypto/ecdsa.ts';
import { sha256 } from '../../src/crypto/sha256.ts';
import { sha384 } from '../../src/crypto/sha384.ts';
import { ATTR } from '../../src/formats/attributes.ts';
import type { TdReport10 } from '../../src/formats/quote.ts';
import { emptyReportBody, serializeReport, serializeReportBody, type ReportBody } from '../../src/formats/report.ts';
import { EV, type TdEvent } from '../../src/formats/tdx-event-log.ts';
import { replayRtmrs } from '../../src/formats/replay-rtmrs.ts';
import { writeEventLog } from '../../src/formats/write-tdx-event-log.ts';
import { identityOfBody } from '../../src/chain/identity.ts';
import { tdIdentityOf, workloadDigest, workloadEventData } from '../../src/chain/layers.ts';
import type { RemoteEvidenceResult, RemoteEvidenceVerifier } from '../../src/chain/remote-verifier.ts';
import {
  elementReportData,
  headerSigningBytes,
  linkSigningBytes,
  revocationSigningBytes,
} from '../../src/chain/signing.ts';
import type {
  ChainHeader,
  ChainPolicy,
  CollateralBlob,
  Element,
  Link,
  ProofBundle,
  Revocation,
} from '../../src/chain/types.ts';
import { collateralId } from '../../src/chain/verify-bundle.ts';
import { BundleWriter } from '../../src/chain/write-bundle-v2.ts';

export const ROOT = Uint8Array.from({ length: 64 }, (_, i) => i);
export const COLLATERAL: CollateralBlob = { tcbInfo: '{"synthetic":1}', qeIdentity: 'qe' };
export const COLLATERAL_ID = collateralId(COLLATERAL);

const rnd = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed * 131 + i * 7) & 0xff);
let seq = 0;

export interface SgxOptions {
  debug?: boolean;
  isvSvn?: number;
  mrEnclave?: Uint8Array;
  /** REPORTDATA; default: the binding of the element key and the link nonce. */
  reportData?: Uint8Array;
  /** A remote link's quote carries the enclave's serialized report body (default: arbitrary bytes). */
  realBody?: boolean;
}

export interface TdOptions {
  debug?: boolean;
  /** Workload image digests measured into RTMR3 (event indexes 1, 2, … after one RTMR0 event). */
  workloads?: string[];
  mrServiceTd?: Uint8Array;
}

/** A chain under construction; every link is signed as Chain signs it. */
export class SynthChain {
  readonly owner = generateP256();
  readonly ownerKey = hex(p256PublicRaw(this.owner.publicKey));
  readonly header: ChainHeader;
  readonly elements: Element[] = [];
  readonly links: Link[] = [];
  readonly revocations: Revocation[] = [];
  readonly keys = new Map<string, KeyObject>();
  /** The remote verifier's answer per quote (hex). */
  readonly results = new Map<string, RemoteEvidenceResult>();
  /** TD event logs by element id, and the TD reports. */
  readonly tds = new Map<string, { events: TdEvent[]; td: TdReport10 }>();
  /** How many quotes the remote verifier was asked to verify. */
  verified = 0;
  readonly remote: RemoteEvidenceVerifier = {
    verify: async (quote) => {
      this.verified++;
      return this.results.get(hex(quote)) ?? { ok: false, check: 'synthetic', message: 'no answer for this quote' };
    },
  };

  constructor(
    policy: ChainPolicy = {},
    readonly now = new Date('2026-12-04T12:00:00.000Z'),
  ) {
    const h: Omit<ChainHeader, 'signature'> = {
      version: 1,
      id: `synth-${++seq}`,
      name: 'synthetic',
      createdAt: now.toISOString(),
      rootSha256: hex(sha256(ROOT)),
      emulatedRoot: true,
      ownerKey: this.ownerKey,
      policy,
    };
    this.header = { ...h, signature: hex(p256Sign(this.owner.privateKey, headerSigningBytes(h))) };
  }

  /** Re-signs the header (after a test changed it) with the owner key. */
  resignHeader(): void {
    this.header.signature = hex(p256Sign(this.owner.privateKey, headerSigningBytes(this.header)));
  }

  /** Signs a link with its parent's key (the owner's for the first), as its parent would. */
  sign(l: Link): Link {
    const k = l.parent === null ? this.owner.privateKey : this.keys.get(l.parent);
    if (!k) throw new Error(`no key for ${String(l.parent)}`);
    l.signature = hex(p256Sign(k, linkSigningBytes(l)));
    return l;
  }

  private platformOf(platform: string, fmspc: string): void {
    if (this.elements.some((e) => e.id === `platform:${platform}`)) return;
    this.elements.push(
      { id: `platform:${platform}`, kind: 'platform', parent: null, platform, fmspc },
      { id: `qe:${platform}`, kind: 'qe', parent: `platform:${platform}`, platform },
    );
  }

  private member(
    id: string,
    kind: Element['kind'],
    parent: string | null,
    platform: string,
    l: Omit<Link, 'signature'>,
  ) {
    this.elements.push({
      id,
      kind,
      parent,
      platform,
      identity: structuredClone(l.childIdentity),
      elementKey: l.childKey,
    });
    const link = this.sign({ ...l, signature: '' });
    this.links.push(link);
    return link;
  }

  private base(id: string, parent: string | null) {
    const pair = generateP256();
    this.keys.set(id, pair.privateKey);
    const childKey = p256PublicRaw(pair.publicKey);
    const nonce = sha256(new TextEncoder().encode(`${this.header.id}/${id}/nonce`));
    return { childKey, nonce, parent };
  }

  private body(childKey: Uint8Array, nonce: Uint8Array, o: SgxOptions): ReportBody {
    return {
      ...emptyReportBody(),
      attributes: { flags: ATTR.INIT | ATTR.MODE64BIT | (o.debug ? ATTR.DEBUG : 0n), xfrm: 3n },
      mrEnclave: o.mrEnclave ?? rnd(32, 1),
      mrSigner: rnd(32, 2),
      isvProdId: 1,
      isvSvn: o.isvSvn ?? 2,
      reportData: o.reportData ?? elementReportData(this.header.id, childKey, nonce),
    };
  }

  /** An SGX enclave admitted by a remote link (a quote the remote verifier accepts with `tcb`). */
  remoteSgx(
    id: string,
    parent: string | null,
    platform: string,
    o: SgxOptions & { tcbStatus?: string; advisoryIds?: string[]; fmspc?: string } = {},
  ): Link {
    const { childKey, nonce } = this.base(id, parent);
    const body = this.body(childKey, nonce, o);
    // 48-byte header, 384-byte body, signature data length, signature data: split by the v2 writer.
    const sigData = rnd(300, 9);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, sigData.length, true);
    const quote = Uint8Array.from([
      ...rnd(48, this.links.length + 3),
      ...(o.realBody ? serializeReportBody(body) : rnd(384, this.links.length + 40)),
      ...len,
      ...sigData,
    ]);
    const fmspc = o.fmspc ?? '00906ed50000';
    this.results.set(hex(quote), {
      ok: true,
      tcbStatus: o.tcbStatus ?? 'UpToDate',
      advisoryIds: o.advisoryIds ?? [],
      platform,
      fmspc,
      qe: { mrEnclave: '11'.repeat(32), mrSigner: '22'.repeat(32), isvProdId: 1, isvSvn: 8 },
      report: body,
    });
    this.platformOf(platform, fmspc);
    return this.member(id, 'enclave', parent, platform, {
      version: 1,
      chain: this.header.id,
      parent,
      child: id,
      type: 'remote',
      nonce: hex(nonce),
      childKey: hex(childKey),
      childIdentity: identityOfBody(body),
      childPlatform: platform,
      evidence: { kind: 'dcap-quote', quote: hex(quote), collateral: COLLATERAL_ID },
      appraisal: { verdict: 'accepted', tcbStatus: o.tcbStatus ?? 'UpToDate', advisoryIds: o.advisoryIds ?? [] },
      at: this.now.toISOString(),
    });
  }

  /** An SGX enclave admitted by a local link (its REPORT) on its parent's platform. */
  localSgx(id: string, parent: string, o: SgxOptions = {}): Link {
    const { childKey, nonce } = this.base(id, parent);
    const body = this.body(childKey, nonce, o);
    const platform = this.elements.find((e) => e.id === parent)!.platform;
    return this.member(id, 'enclave', parent, platform, {
      version: 1,
      chain: this.header.id,
      parent,
      child: id,
      type: 'local',
      nonce: hex(nonce),
      childKey: hex(childKey),
      childIdentity: identityOfBody(body),
      childPlatform: platform,
      evidence: { kind: 'sgx-report', report: hex(serializeReport(body, rnd(32, 5), rnd(16, 6))) },
      appraisal: { verdict: 'accepted' },
      at: this.now.toISOString(),
    });
  }

  /** A TD admitted by a remote link: a TDX quote the verifier accepts, with its event log. */
  td(id: string, parent: string | null, platform: string, o: TdOptions = {}): Link {
    const { childKey, nonce } = this.base(id, parent);
    const events: TdEvent[] = [
      { mrIndex: 1, eventType: EV.EFI_PLATFORM_FIRMWARE_BLOB2, digest: sha384(rnd(8, 7)), data: rnd(4, 8) },
      ...(o.workloads ?? []).map((w) => ({
        mrIndex: 4,
        eventType: EV.IPL,
        digest: sha384(new TextEncoder().encode(w)),
        data: new TextEncoder().encode(workloadEventData(w)),
      })),
    ];
    const td: TdReport10 = {
      teeTcbSvn: rnd(16, 11),
      mrSeam: rnd(48, 12),
      mrSignerSeam: new Uint8Array(48),
      seamAttributes: new Uint8Array(8),
      tdAttributes: Uint8Array.from([o.debug ? 1 : 0, 0, 0, 0, 0, 0, 0, 0]),
      xfam: Uint8Array.from([0xe7, 0x02, 0x06, 0, 0, 0, 0, 0]),
      mrTd: rnd(48, 13),
      mrConfigId: new Uint8Array(48),
      mrOwner: new Uint8Array(48),
      mrOwnerConfig: new Uint8Array(48),
      rtmr: replayRtmrs(events),
      reportData: elementReportData(this.header.id, childKey, nonce),
      ...(o.mrServiceTd ? { teeTcbSvn2: new Uint8Array(16), mrServiceTd: o.mrServiceTd } : {}),
    };
    this.tds.set(id, { events, td });
    const quote = rnd(120, this.links.length + 70); // too short to split: travels whole in v2
    this.results.set(hex(quote), {
      ok: true,
      tee: 'tdx',
      tcbStatus: 'UpToDate',
      advisoryIds: [],
      platform,
      fmspc: '00806f050000',
      qe: { mrEnclave: '33'.repeat(32), mrSigner: '44'.repeat(32), isvProdId: 2, isvSvn: 4 },
      td,
    });
    this.platformOf(platform, '00806f050000');
    return this.member(id, 'tdx-td', parent, platform, {
      version: 1,
      chain: this.header.id,
      parent,
      child: id,
      type: 'remote',
      nonce: hex(nonce),
      childKey: hex(childKey),
      childIdentity: tdIdentityOf(td),
      childPlatform: platform,
      evidence: {
        kind: 'dcap-quote',
        quote: hex(quote),
        collateral: COLLATERAL_ID,
        eventLog: hex(writeEventLog(events)),
      },
      appraisal: { verdict: 'accepted', tcbStatus: 'UpToDate', advisoryIds: [] },
      at: this.now.toISOString(),
    });
  }

  /** A workload measured into its TD's RTMR3 at `event` (an index of the TD's log). */
  workload(id: string, parent: string, imageDigest: string, event: number): Link {
    const { childKey, nonce } = this.base(id, parent);
    const platform = this.elements.find((e) => e.id === parent)!.platform;
    return this.member(id, 'td-workload', parent, platform, {
      version: 1,
      chain: this.header.id,
      parent,
      child: id,
      type: 'measured',
      nonce: hex(nonce),
      childKey: hex(childKey),
      childIdentity: { kind: 'td-workload', imageDigest, event },
      childPlatform: platform,
      evidence: { kind: 'td-event', event, digest: workloadDigest(imageDigest) },
      appraisal: { verdict: 'accepted' },
      at: this.now.toISOString(),
    });
  }

  revoke(element: string, reason = 'test'): Revocation {
    const r: Omit<Revocation, 'signature'> = { element, reason, at: this.now.toISOString() };
    const signed = { ...r, signature: hex(p256Sign(this.owner.privateKey, revocationSigningBytes(this.header.id, r))) };
    this.revocations.push(signed);
    return signed;
  }

  /** The v1 bundle (a deep copy: tests may change it freely). */
  bundle(): ProofBundle {
    return structuredClone({
      format: 'catena-proof-bundle',
      version: 1,
      chain: this.header,
      elements: this.elements,
      links: this.links,
      revocations: this.revocations,
      collateral: { [COLLATERAL_ID]: COLLATERAL },
    });
  }

  /** The bundle as v2 bytes, written as Chain.writeBundle writes it. */
  v2(b: ProofBundle = this.bundle()): Uint8Array {
    const parts: Uint8Array[] = [];
    const w = new BundleWriter((x) => parts.push(x.slice()));
    w.header(b.chain);
    for (const r of b.revocations) w.revocation(r);
    for (const l of b.links) {
      const el = b.elements.find((e) => e.id === l.child);
      w.link(l, l.evidence.kind === 'dcap-quote' ? b.collateral[l.evidence.collateral] : undefined, el?.cloud);
    }
    for (const e of b.elements) if (e.kind === 'platform') w.platform(e);
    w.finish();
    return new Uint8Array(Buffer.concat(parts));
  }

  /** Verification options at `now` (plus `ms`). */
  opts(ms = 0) {
    return { root: ROOT, at: new Date(this.now.getTime() + ms), remote: this.remote };
  }
}
