import { createHash, type Hash } from 'node:crypto';
import { ArgumentError } from '../errors.ts';
import { PAGE_SIZE, type TdImage } from './td-image.ts';

/**
 * MRTD as the TDX module builds it (Intel TDX Module Base Spec, TDH.MEM.PAGE.ADD and TDH.MR.EXTEND;
 * docs/formats-tdx.md): one SHA-384 context, fed while the VMM builds the TD and finalised by
 * TDH.MR.FINALIZE.
 *   TDH.MEM.PAGE.ADD(gpa):  a 128-byte block: "MEM.PAGE.ADD" (12 ASCII bytes) at 0, gpa (u64 LE) at 16, zeros.
 *   TDH.MR.EXTEND(gpa):     per 256-byte chunk: a 128-byte block "MR.EXTEND" (9 ASCII bytes) at 0, the chunk's
 *                           gpa (u64 LE) at 16, zeros; then the chunk's 256 bytes.
 */
export const MR_EXTEND_CHUNK = 256;
const BLOCK = 128;

function block(tag: string, gpa: bigint): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(new TextEncoder().encode(tag), 0);
  new DataView(b.buffer).setBigUint64(16, gpa, true);
  return b;
}

/** The running MRTD of a TD being built. */
export class MrtdBuilder {
  private readonly h: Hash = createHash('sha384');
  private done = false;

  pageAdd(gpa: bigint): void {
    this.open();
    if (gpa % BigInt(PAGE_SIZE) !== 0n)
      throw new ArgumentError(`TDH.MEM.PAGE.ADD: GPA 0x${gpa.toString(16)} is not page-aligned`);
    this.h.update(block('MEM.PAGE.ADD', gpa));
  }

  mrExtend(gpa: bigint, chunk: Uint8Array): void {
    this.open();
    if (chunk.length !== MR_EXTEND_CHUNK) throw new ArgumentError(`TDH.MR.EXTEND: a chunk is ${MR_EXTEND_CHUNK} bytes`);
    if (gpa % BigInt(MR_EXTEND_CHUNK) !== 0n) throw new ArgumentError('TDH.MR.EXTEND: GPA is not 256-byte aligned');
    this.h.update(block('MR.EXTEND', gpa));
    this.h.update(chunk);
  }

  /** TDH.MR.FINALIZE: the MRTD (48 bytes); the TD's build is over. */
  finalize(): Uint8Array {
    this.open();
    this.done = true;
    return new Uint8Array(this.h.digest());
  }

  private open(): void {
    if (this.done) throw new ArgumentError('MRTD already finalized');
  }
}

/** MRTD of an image: every page added in order, measured pages extended chunk by chunk. */
export function measureMrtd(image: Pick<TdImage, 'pages'>): Uint8Array {
  const m = new MrtdBuilder();
  for (const p of image.pages) {
    if (p.data.length !== PAGE_SIZE)
      throw new ArgumentError(`TD page at 0x${p.gpa.toString(16)}: ${p.data.length} bytes, not ${PAGE_SIZE}`);
    m.pageAdd(p.gpa);
    if (p.extend)
      for (let o = 0; o < PAGE_SIZE; o += MR_EXTEND_CHUNK)
        m.mrExtend(p.gpa + BigInt(o), p.data.subarray(o, o + MR_EXTEND_CHUNK));
  }
  return m.finalize();
}
