import { boolean, octetString, oid, seq, smallInteger, tlv } from '../../formats/der-writer.ts';
import { argumentError } from './errors.ts';
import { SGX_EXTENSION_OID } from './names.ts';

/**
 * Encodes Intel's SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1; Intel "SGX PCK
 * Certificate and CRL Profile" §1.5), laid out exactly as in Intel's certificates:
 *
 *   SEQUENCE {
 *     SEQUENCE { .1  PPID                 OCTET STRING (16) }
 *     SEQUENCE { .2  TCB  SEQUENCE {
 *         SEQUENCE { .2.1 … .2.16  SGX TCB COMP01…16 SVN  INTEGER }
 *         SEQUENCE { .2.17         PCESVN                 INTEGER }
 *         SEQUENCE { .2.18         CPUSVN                 OCTET STRING (16) } } }
 *     SEQUENCE { .3  PCE-ID               OCTET STRING (2, little-endian as in the quote header) }
 *     SEQUENCE { .4  FMSPC                OCTET STRING (6) }
 *     SEQUENCE { .5  SGX Type             ENUMERATED (0 Standard, 1 Scalable, 2 Scalable with integrity) }
 *     -- Platform CA certificates only:
 *     SEQUENCE { .6  PlatformInstanceID   OCTET STRING (16) }
 *     SEQUENCE { .7  Configuration  SEQUENCE {
 *         SEQUENCE { .7.1 dynamicPlatform BOOLEAN } SEQUENCE { .7.2 cachedKeys BOOLEAN } SEQUENCE { .7.3 SMTEnabled BOOLEAN } } }
 *   }
 *
 * INTEGERs are DER minimal two's complement (255 is 02 02 00 FF, as in Intel's leaves).
 */
export interface SgxExtensionFields {
  ppid: Uint8Array;
  /** The 16 SGX TCB component SVNs (0–255). */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  pceId: number;
  fmspc: Uint8Array;
  /** 0 Standard (Processor CA), 1 Scalable (Platform CA), 2 Scalable with integrity. */
  sgxType: number;
  platformInstanceId?: Uint8Array;
  configuration?: { dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean };
}

export const SGX_TYPE = { STANDARD: 0, SCALABLE: 1, SCALABLE_WITH_INTEGRITY: 2 } as const;

// Encoded with Catena's DER writer (≈ 20× faster than asn1js; one per PCK certificate, i.e. per
// platform boot); test/unit/sgx/sgx-extension.test.ts pins the bytes to the asn1js encoding it replaced.
// The OIDs of every arc, encoded once when the module loads (a constant table, not a cache).
const ARCS = [
  '1',
  '2',
  ...Array.from({ length: 18 }, (_, i) => `2.${i + 1}`),
  '3',
  '4',
  '5',
  '6',
  '7',
  '7.1',
  '7.2',
  '7.3',
];
const ARC_OID: Readonly<Record<string, Uint8Array>> = Object.freeze(
  Object.fromEntries(ARCS.map((arc) => [arc, oid(`${SGX_EXTENSION_OID}.${arc}`)])),
);
function entry(arc: string, value: Uint8Array): Uint8Array {
  return seq(ARC_OID[arc], value);
}

function octets(bytes: Uint8Array, len: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== len)
    throw argumentError(`SGX extension: ${what} must be ${len} bytes`);
  return octetString(bytes);
}

function uint(n: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw argumentError(`SGX extension: ${what} must be an integer in [0, ${max}], got ${n}`);
  return n;
}

/** The DER of the extension value (what goes inside extnValue's OCTET STRING). */
export function encodeSgxExtension(f: SgxExtensionFields): Uint8Array {
  if (!Array.isArray(f.tcbComponents) || f.tcbComponents.length !== 16)
    throw argumentError('SGX extension: tcbComponents must hold 16 SVNs');
  const pceId = new Uint8Array(2);
  new DataView(pceId.buffer).setUint16(0, uint(f.pceId, 0xffff, 'pceId'), true);
  const tcb = [
    ...f.tcbComponents.map((svn, i) => entry(`2.${i + 1}`, smallInteger(uint(svn, 255, `TCB component ${i + 1}`)))),
    entry('2.17', smallInteger(uint(f.pceSvn, 0xffff, 'pceSvn'))),
    entry('2.18', octets(f.cpuSvn, 16, 'cpuSvn')),
  ];
  const items: Uint8Array[] = [
    entry('1', octets(f.ppid, 16, 'ppid')),
    entry('2', seq(...tcb)),
    entry('3', octets(pceId, 2, 'pceId')),
    entry('4', octets(f.fmspc, 6, 'fmspc')),
    entry('5', tlv(0x0a, smallInteger(uint(f.sgxType, 2, 'sgxType')).subarray(2))),
  ];
  if (f.platformInstanceId !== undefined)
    items.push(entry('6', octets(f.platformInstanceId, 16, 'platformInstanceId')));
  if (f.configuration !== undefined) {
    const c = f.configuration;
    items.push(
      entry(
        '7',
        seq(
          entry('7.1', boolean(c.dynamicPlatform)),
          entry('7.2', boolean(c.cachedKeys)),
          entry('7.3', boolean(c.smtEnabled)),
        ),
      ),
    );
  }
  return seq(...items);
}
