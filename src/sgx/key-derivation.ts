import { Writer } from '../bytes/cursor.ts';
import { abytes } from '../bytes/util.ts';
import { AesCmac } from '../crypto/cmac.ts';
import type { Attributes } from '../formats/attributes.ts';

/**
 * The emulated CPU's key derivation: every EGETKEY key (and every EREPORT MAC key) is
 *
 *     key = AES-128-CMAC(root[key_name], KEYDEPENDENCIES)
 *
 * as in the Intel SDM's EGETKEY pseudo-code (Vol. 3D, "Key Derivation"), where the hardware
 * computes CMAC(CR_BASE_PK, KeyDependencies). KEYDEPENDENCIES is the SDM's structure, 642 bytes,
 * all integers little-endian, unused fields zero:
 *
 *   off  len  field
 *     0    2  KEYNAME
 *     2    2  ISVPRODID
 *     4    2  ISVSVN
 *     6   16  OWNEREPOCH
 *    22   16  ATTRIBUTES        (SECS.ATTRIBUTES masked, see cpu.ts)
 *    38   16  ATTRIBUTESMASK
 *    54   32  MRENCLAVE
 *    86   32  MRSIGNER
 *   118   32  KEYID
 *   150   16  SEAL_KEY_FUSES    (always zero here: the per-platform root secret plays this role)
 *   166   16  CPUSVN
 *   182  352  PADDING           (zero)
 *   534    4  MISCSELECT        (SECS.MISCSELECT masked)
 *   538    4  MISCMASK
 *   542    2  KEYPOLICY
 *   544   64  CONFIGID          (zero: KSS is not emulated)
 *   608    2  CONFIGSVN         (zero)
 *   610   16  ISVEXTPRODID      (zero)
 *   626   16  ISVFAMILYID       (zero)
 *
 * Which fields each key name fills is decided by the CPU (cpu.ts) and documented in
 * docs/emulated-platform.md.
 */
export const KEY_DEPENDENCIES_SIZE = 642;

export interface KeyDependencies {
  keyName: number;
  isvProdId: number;
  isvSvn: number;
  ownerEpoch: Uint8Array;
  attributes: Attributes;
  attributeMask: Attributes;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  keyId: Uint8Array;
  cpuSvn: Uint8Array;
  miscSelect: number;
  miscMask: number;
  keyPolicy: number;
}

const Z16 = new Uint8Array(16);
const Z32 = new Uint8Array(32);

/** Serialises KEYDEPENDENCIES (642 bytes, layout above). */
export function serializeKeyDependencies(d: KeyDependencies): Uint8Array {
  return new Writer()
    .u16(d.keyName)
    .u16(d.isvProdId)
    .u16(d.isvSvn)
    .bytes(abytes(d.ownerEpoch, 16, 'owner_epoch'))
    .u64(d.attributes.flags)
    .u64(d.attributes.xfrm)
    .u64(d.attributeMask.flags)
    .u64(d.attributeMask.xfrm)
    .bytes(abytes(d.mrEnclave, 32, 'mr_enclave'))
    .bytes(abytes(d.mrSigner, 32, 'mr_signer'))
    .bytes(abytes(d.keyId, 32, 'key_id'))
    .zeros(16) // SEAL_KEY_FUSES
    .bytes(abytes(d.cpuSvn, 16, 'cpu_svn'))
    .zeros(352) // PADDING
    .u32(d.miscSelect)
    .u32(d.miscMask)
    .u16(d.keyPolicy)
    .zeros(64 + 2 + 16 + 16) // CONFIGID, CONFIGSVN, ISVEXTPRODID, ISVFAMILYID
    .finish();
}

/** A KEYDEPENDENCIES value with every field zero, to fill in per key name. */
export function emptyKeyDependencies(keyName: number): KeyDependencies {
  return {
    keyName,
    isvProdId: 0,
    isvSvn: 0,
    ownerEpoch: Z16,
    attributes: { flags: 0n, xfrm: 0n },
    attributeMask: { flags: 0n, xfrm: 0n },
    mrEnclave: Z32,
    mrSigner: Z32,
    keyId: Z32,
    cpuSvn: Z16,
    miscSelect: 0,
    miscMask: 0,
    keyPolicy: 0,
  };
}

/** key = AES-128-CMAC(root, KEYDEPENDENCIES). `root` is a CMAC instance so the CPU keeps its roots as keyed objects. */
export function deriveKey(root: AesCmac, deps: KeyDependencies): Uint8Array {
  return root.mac(serializeKeyDependencies(deps));
}
