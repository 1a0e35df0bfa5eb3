import fc from 'fast-check';
import type { Attributes } from '../../../src/formats/attributes.ts';

/** fast-check generators shared by the format round-trip tests. */
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
export const attributes: fc.Arbitrary<Attributes> = fc.record({ flags: u64, xfrm: u64 }, { noNullPrototype: true });

/** Random bytes of `size` with the given [start, end) ranges zeroed (the reserved fields). */
export function bytesWithZeroed(size: number, reserved: Array<[number, number]>): fc.Arbitrary<Uint8Array> {
  return bytes(size).map((b) => {
    for (const [a, z] of reserved) b.fill(0, a, z);
    return b;
  });
}
