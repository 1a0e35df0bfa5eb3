import { randomBytes } from 'node:crypto';
import { hex } from '../bytes/util.ts';
import type { CollateralKey } from '../server/selfmanage/types.ts';
import type { ChainPolicy, CollateralBlob, Link } from '../chain/types.ts';
import { dcapRemoteVerifier } from '../cot/dcap-remote-verifier.ts';
import { EmulatedWorld } from '../cot/world.ts';
import { generateVendorKey } from '../crypto/rsa3072.ts';
import type { ElementRecord } from '../server/chain-service.ts';
import { Reappraiser, type CollateralHolder, type HeldSet } from '../server/selfmanage/reappraise.ts';
import { collateralJson } from '../sgx/manufacturer/collateral.ts';
import type { Manufacturer } from '../sgx/manufacturer/manufacturer.ts';
import { DEFAULT_FMSPC } from '../sgx/platform.ts';
import type { ElementRow } from '../store/types.ts';
import { BenchError } from './errors.ts';

/**
 * Collateral straight from an emulated manufacturer (what the monitor would hold after polling its
 * PCS): the standard and the early release of the default FMSPC. `refresh()` re-reads both.
 */
export async function manufacturerHolder(m: Manufacturer): Promise<CollateralHolder & { refresh(): Promise<void> }> {
  const sets: Partial<Record<'standard' | 'early', HeldSet>> = {};
  const read = async (update: 'standard' | 'early'): Promise<HeldSet> => {
    const c = await m.collateral(DEFAULT_FMSPC, 'processor', update);
    const blob: CollateralBlob = { ...collateralJson(c) };
    const tcb = JSON.parse(Buffer.from(c.tcbInfo.body).toString('utf8')) as {
      tcbInfo: { nextUpdate: string; tcbEvaluationDataNumber: number; tcbLevels: { tcbDate?: string }[] };
    };
    return {
      blob,
      nextUpdate: new Date(tcb.tcbInfo.nextUpdate),
      tcbEvaluationDataNumber: tcb.tcbInfo.tcbEvaluationDataNumber,
    };
  };
  const holder = {
    held: (_k: CollateralKey, update: 'standard' | 'early') => sets[update],
    stale: (_k: CollateralKey, at: Date) => (sets.standard ? sets.standard.nextUpdate < at : false),
    async refresh() {
      sets.standard = await read('standard');
      sets.early = await read('early');
    },
  };
  await holder.refresh();
  return holder;
}

export interface SelfmanageBenchResult {
  elements: number;
  platforms: number;
  /** Elements with a quote of their own (remote links); the others are local links. */
  quotes: number;
  /** What changed: a TCB recovery staged at update=early. */
  change: string;
  /** Re-appraisal of every element after the change (parsed evidence kept from the round before). */
  reappraiseMs: number;
  perElementUs: number;
  /** Elements whose state the change moved (at-risk), and how many full DCAP verifications that took. */
  changed: number;
  verifications: number;
  /** The floor: one full DCAP verification per quote, measured on a sample and scaled to `quotes`. */
  naiveMs: number;
  /** naiveMs ÷ reappraiseMs. */
  speedup: number;
  target: { elements: number; ms: number };
  meetsTarget: boolean;
}

/**
 * `catena bench selfmanage`: N stored elements on a few emulated platforms (a third remote links with
 * quotes of their own, the rest local links below them), appraised once, then a TCB recovery is staged
 * at update=early and every element is re-appraised: the time of that round is the number. The floor
 * beside it is what verifying every quote in full would cost (sampled).
 */
export async function benchSelfmanage(o: {
  elements: number;
  platforms?: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<SelfmanageBenchResult> {
  const n = o.elements;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000)
    throw new BenchError('ERR_BENCH_ARGUMENT', `--elements: expected 1…1000000, got ${n}`);
  const platforms = o.platforms ?? 4;
  const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: platforms });
  try {
    const m = world.manufacturer;
    const vendor = generateVendorKey();
    const image = world.elementImage(vendor, 1, 1);
    const root = world.root;
    const chainId = 'bench-selfmanage';
    const now = new Date();
    const policy: ChainPolicy = { acceptedTcbStatuses: ['UpToDate'] };
    const rows: ElementRow[] = [];
    // One enclave per platform makes the quotes (a quote per remote element, as each would have its own).
    const handles = await Promise.all(Array.from({ length: platforms }, (_, i) => world.loadElement(i, image)));
    const quotes = Math.max(1, Math.round(n / 3));
    let lastRemote: string[] = [];
    for (let i = 0; i < n; i++) {
      const remote = i % 3 === 0;
      const p = i % platforms;
      const id = `e${i}`;
      const h = handles[p];
      let link: Link;
      if (remote) {
        const report = await h.evidence(world.qeTargetInfo(h), chainId, hex(randomBytes(32)));
        const quote = hex(await world.quote(h, report));
        link = linkOf(id, i === 0 ? null : lastRemote[(i - 1) % lastRemote.length], 'remote', h.platformPpid, {
          kind: 'dcap-quote',
          quote,
          collateral: '',
        });
        lastRemote = [...lastRemote.slice(-platforms + 1), id];
      } else {
        const parent = `e${i - (i % 3)}`;
        link = linkOf(id, parent, 'local', h.platformPpid, { kind: 'sgx-report', report: '00' });
      }
      const record: ElementRecord = {
        element: { id, kind: 'enclave', parent: link.parent, platform: h.platformPpid },
        link: { ...link, at: now.toISOString() },
      };
      rows.push({
        chainId,
        id,
        seq: i + 1,
        parentId: link.parent,
        kind: 'enclave',
        status: 'active',
        record,
        evidenceHashes: [],
        createdAt: now,
        updatedAt: now,
      });
      if (i % 500 === 0) o.onProgress?.(i, n);
    }
    o.onProgress?.(n, n);
    const holder = await manufacturerHolder(m);
    let verifications = 0;
    const verifier = dcapRemoteVerifier(root);
    const counting = () => ({
      verify: (...a: Parameters<typeof verifier.verify>) => {
        verifications++;
        return verifier.verify(...a);
      },
    });
    const r = new Reappraiser(counting, holder);
    const chain = { root, policy };
    // The round before the change: states recorded, evidence parsed.
    const before = await r.appraiseChain(chain, rows, now);
    for (const a of before) (a.row.record as ElementRecord).health = a.health;
    m.stageTcbRecovery(DEFAULT_FMSPC);
    await holder.refresh();
    verifications = 0;
    const t0 = performance.now();
    const after = await r.appraiseChain(chain, rows, new Date(now.getTime() + 1000));
    const reappraiseMs = performance.now() - t0;
    const changed = after.filter((a) => a.changed).length;
    // The floor: full verification of a sample of the quotes, scaled.
    const sample = rows.filter((x) => (x.record as ElementRecord).link.evidence.kind === 'dcap-quote').slice(0, 200);
    const fresh = dcapRemoteVerifier(root);
    const blob = holder.held({ teeType: 'sgx', fmspc: hex(DEFAULT_FMSPC), pckCa: 'processor' }, 'standard')!.blob;
    const t1 = performance.now();
    for (const x of sample) {
      const ev = (x.record as ElementRecord).link.evidence;
      if (ev.kind === 'dcap-quote') await fresh.verify(Buffer.from(ev.quote, 'hex'), blob, now);
    }
    const naiveMs = ((performance.now() - t1) / sample.length) * quotes;
    return {
      elements: n,
      platforms,
      quotes,
      change: 'TCB recovery staged at update=early',
      reappraiseMs: round(reappraiseMs),
      perElementUs: round((reappraiseMs * 1000) / n),
      changed,
      verifications,
      naiveMs: round(naiveMs),
      speedup: round(naiveMs / reappraiseMs),
      target: { elements: 10_000, ms: 5000 },
      meetsTarget: n >= 10_000 ? reappraiseMs <= 5000 * (n / 10_000) : reappraiseMs <= 5000,
    };
  } finally {
    await world.close();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

function linkOf(
  child: string,
  parent: string | null,
  type: 'local' | 'remote',
  platform: string,
  evidence: Link['evidence'],
): Link {
  return {
    version: 1,
    chain: 'bench-selfmanage',
    parent,
    child,
    type,
    nonce: '00'.repeat(32),
    childKey: '',
    childIdentity: { mrEnclave: '', mrSigner: '', isvProdId: 1, isvSvn: 1, attributes: '', debug: false },
    childPlatform: platform,
    evidence,
    appraisal: { verdict: 'accepted' },
    at: '',
    signature: '',
  };
}
