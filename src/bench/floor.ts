import { AesCmac } from '../crypto/cmac.ts';
import type { KeyObject } from 'node:crypto';
import { createElementKey, signWithElementKey } from '../cot/element-core.ts';
import {
  generateP256,
  p256PublicFromRaw,
  p256PublicRaw,
  p256Sign,
  p256SignerFromScalar,
  p256Verify,
  type P256KeyPair,
} from '../crypto/ecdsa.ts';
import { randomBytes } from '../crypto/random.ts';
import { sha256Parts } from '../crypto/sha256.ts';
import { median } from './stats.ts';

/**
 * The crypto floor of one link: the primitive operations a link cannot do without, timed with the
 * same `src/crypto` functions Catena uses, on inputs of the real sizes (the signed bytes of a real
 * local and a real remote link from the same run). Nothing else — no parsing, no JSON, no enclave
 * calls, no bookkeeping. Definitions (docs/benchmarks.md):
 *
 *   local  = keygen + 2 × CMAC(384 B) + 2 × SHA-256(binding) + signer + sign(link) + verifyRaw(link)
 *   remote = keygen + 2 × CMAC(384 B) + 2 × SHA-256(binding) + sign(quote, 432 B) + verify(quote)
 *            + signer + sign(link) + verifyRaw(link)
 *
 * keygen: the element key created inside the child (P-256, held as bytes: createElementKey). signer: the
 * parent's signing key made from its bytes, once per parent (counted once per link: the floor's parents
 * sign once). CMAC: EREPORT's MAC over the REPORT body
 * and the admitting side's check of it (the parent for a local link, the QE for a remote one; the
 * REPORT key itself is derived once per target identity, as a CPU may cache it). SHA-256(binding): the
 * REPORTDATA the child computes and the admitting side recomputes. sign(quote): the QE's ECDSA over
 * the quote header and body; verify(quote): the parent's check of it with the QE's attestation key
 * (decoded once per QE). sign(link): the parent (or owner) signs the link; verifyRaw(link): a verifier
 * checks it with the signer's key as carried in the chain (64 raw bytes): decode and validate the
 * point, then ECDSA verify. A warm DCAP verifier does no other public-key operation per quote from
 * a QE it has seen (PCK chain, CRLs, collateral and QE report signatures are the same bytes).
 */

export interface FloorParts {
  keygen: number;
  signer: number;
  cmac: number;
  bindingHash: number;
  signLink: { local: number; remote: number };
  verifyRawLink: { local: number; remote: number };
  signQuote: number;
  verifyQuote: number;
}

export interface CryptoFloor {
  /**
   * µs per link: the link's primitives run in the link's order, one link after another, each on the
   * keys a link really has (see measureLinkSequence). This is the floor the marginal costs are compared with.
   */
  local: number;
  remote: number;
  /** µs per link: the sum of the parts below, each primitive timed on its own in a tight loop. */
  isolated: { local: number; remote: number };
  /** µs per operation, each timed on its own. */
  parts: FloorParts;
}

export interface FloorInputs {
  /** The signed bytes of a real local and a real remote link (linkSigningBytes). */
  localLinkBytes: Uint8Array;
  remoteLinkBytes: Uint8Array;
  /** Header + body of a real quote (what the QE signs). */
  quoteSigned: Uint8Array;
  /** Operations per batch and batches (the median batch is kept). */
  iterations?: number;
  batches?: number;
}

/**
 * CPU µs (user + system, this process) per call of `f`: the median over `batches` batches of `n`
 * calls. CPU time, like the marginal costs it is compared with, so other processes on the machine
 * do not inflate either.
 */
function perCall(n: number, batches: number, f: (i: number) => unknown): number {
  const out: number[] = [];
  for (let b = 0; b < batches; b++) {
    const c = process.cpuUsage();
    for (let i = 0; i < n; i++) f(i);
    const d = process.cpuUsage(c);
    out.push((d.user + d.system) / n);
  }
  return median(out);
}

export function measureCryptoFloor(inp: FloorInputs, sampler?: LinkFloorSampler): CryptoFloor {
  const n = inp.iterations ?? 100;
  const batches = inp.batches ?? 5;
  const keys = Array.from({ length: 8 }, () => generateP256());
  const scalars = Array.from({ length: 8 }, () => createElementKey());
  const raws = keys.map((k) => p256PublicRaw(k.publicKey));
  const sigs = (bytes: Uint8Array) => keys.map((k) => p256Sign(k.privateKey, bytes));
  const localSigs = sigs(inp.localLinkBytes);
  const remoteSigs = sigs(inp.remoteLinkBytes);
  const quoteSigs = sigs(inp.quoteSigned);
  const cmac = new AesCmac(randomBytes(16));
  const body = randomBytes(384);
  const chainId = new TextEncoder().encode('00000000-0000-4000-8000-000000000000');
  const nonce = randomBytes(32);
  let sink = 0;
  const check = (ok: boolean) => {
    if (!ok) throw new Error('crypto floor: a signature that must verify did not');
  };
  const verifyRaw = (bytes: Uint8Array, s: Uint8Array[]) => (i: number) =>
    check(p256Verify(p256PublicFromRaw(raws[i % 8]), bytes, s[i % 8]));
  const parts: FloorParts = {
    // What an element key costs: createElementKey, as element-core makes it; then its signer, once.
    keygen: perCall(n, batches, () => createElementKey()),
    signer: perCall(n, batches, (i) =>
      p256SignerFromScalar(scalars[i % scalars.length].d, scalars[i % scalars.length].publicRaw),
    ),
    cmac: perCall(n, batches, () => (sink ^= cmac.mac(body)[0])),
    bindingHash: perCall(n, batches, (i) => (sink ^= sha256Parts(chainId, new Uint8Array(1), raws[i % 8], nonce)[0])),
    signLink: {
      local: perCall(n, batches, (i) => p256Sign(keys[i % 8].privateKey, inp.localLinkBytes)),
      remote: perCall(n, batches, (i) => p256Sign(keys[i % 8].privateKey, inp.remoteLinkBytes)),
    },
    verifyRawLink: {
      local: perCall(n, batches, verifyRaw(inp.localLinkBytes, localSigs)),
      remote: perCall(n, batches, verifyRaw(inp.remoteLinkBytes, remoteSigs)),
    },
    signQuote: perCall(n, batches, (i) => p256Sign(keys[i % 8].privateKey, inp.quoteSigned)),
    verifyQuote: perCall(n, batches, (i) =>
      check(p256Verify(keys[i % 8].publicKey, inp.quoteSigned, quoteSigs[i % 8])),
    ),
  };
  void sink;
  const common = parts.keygen + parts.signer + 2 * parts.cmac + 2 * parts.bindingHash;
  const isolated = {
    local: common + parts.signLink.local + parts.verifyRawLink.local,
    remote: common + parts.signQuote + parts.verifyQuote + parts.signLink.remote + parts.verifyRawLink.remote,
  };
  const seq = sampler ?? new LinkFloorSampler(inp);
  for (let b = 0; b < batches; b++) seq.sample(Math.max(1, Math.round(n / 5)));
  return { local: seq.local, remote: seq.remote, isolated, parts };
}

/**
 * The same primitives as the parts, in the order one link runs them, link after link, on the keys a
 * link has: each link's child key is generated fresh and, as the parent of the next link, makes its
 * signer and signs once;
 * each signer key is decoded from its 64 raw bytes for the verification (a KeyObject used for the
 * first time costs OpenSSL more than a warm one); the QE's attestation key signs every quote of its
 * platform and is decoded once per QE (one of 8 here). Why this and not the sum of the parts: a
 * primitive repeated 100 times on warm keys in a tight loop runs faster than the same primitive does
 * inside any link (measured here: with `generateKeyPairSync` keys, keygen ≈ 130 alone vs ≈ 220 µs in
 * sequence; the first verification with a freshly decoded key ≈ +50 µs; the sum of the parts runs
 * ≈ 1.3× faster than the same parts in sequence), so the sum of the parts is a floor no link can reach, and
 * comparing a link with it charges OpenSSL's own in-sequence costs to Catena's code. No JSON, no
 * parsing, no enclave, no bookkeeping here: only what the link's crypto costs when it is done as a link.
 *
 * Sampled in small batches spread over the whole benchmark (between the elements of the chains being
 * built, outside their timing), so the floor and the marginal costs see the same machine: on a shared
 * machine either can change by 1.5× within a minute. The floor is the median batch.
 */
export class LinkFloorSampler {
  private readonly batches = { local: [] as number[], remote: [] as number[] };
  private readonly qeKeys: P256KeyPair[];
  private readonly qePublic: KeyObject[];
  private readonly cmac = new AesCmac(randomBytes(16));
  private readonly body = randomBytes(384);
  private readonly chainId = new TextEncoder().encode('00000000-0000-4000-8000-000000000000');
  private readonly nonce = randomBytes(32);
  private parent = createElementKey();
  private sink = 0;
  constructor(private readonly inp: Pick<FloorInputs, 'localLinkBytes' | 'remoteLinkBytes' | 'quoteSigned'>) {
    this.qeKeys = Array.from({ length: 8 }, () => generateP256());
    this.qePublic = this.qeKeys.map((k) => k.publicKey);
  }

  private link(remote: boolean, i: number): void {
    const child = createElementKey();
    this.sink ^= this.cmac.mac(this.body)[0] ^ this.cmac.mac(this.body)[0];
    const binding = () => sha256Parts(this.chainId, new Uint8Array(1), child.publicRaw, this.nonce)[0];
    this.sink ^= binding() ^ binding();
    if (remote) {
      const q = p256Sign(this.qeKeys[i % 8].privateKey, this.inp.quoteSigned);
      if (!p256Verify(this.qePublic[i % 8], this.inp.quoteSigned, q))
        throw new Error('crypto floor: a quote signature that must verify did not');
    }
    const bytes = remote ? this.inp.remoteLinkBytes : this.inp.localLinkBytes;
    const sig = signWithElementKey(this.parent, bytes);
    if (!p256Verify(p256PublicFromRaw(this.parent.publicRaw), bytes, sig))
      throw new Error('crypto floor: a link signature that must verify did not');
    this.parent = child;
  }

  /** One batch of `links` local links and one of `links` remote links: CPU µs per link, recorded. */
  sample(links = 10): void {
    for (const type of ['local', 'remote'] as const) {
      const c = process.cpuUsage();
      for (let i = 0; i < links; i++) this.link(type === 'remote', i);
      const d = process.cpuUsage(c);
      this.batches[type].push((d.user + d.system) / links);
    }
  }

  get samples(): number {
    return this.batches.local.length;
  }
  get local(): number {
    return median(this.batches.local);
  }
  get remote(): number {
    return median(this.batches.remote);
  }
}
