import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes } from '../bytes/util.ts';
import { FormatError } from '../errors.ts';
import { readAttributes, writeAttributes, type Attributes } from './attributes.ts';

/**
 * sgx_key_request_t — 512 bytes (Intel SDK `sgx_key.h`): the EGETKEY input.
 *
 *   off  len  field
 *     0    2  key_name     (EINITTOKEN 0, PROVISION 1, PROVISION_SEAL 2, REPORT 3, SEAL 4)
 *     2    2  key_policy   (MRENCLAVE 0x1, MRSIGNER 0x2, NOISVPRODID 0x4, CONFIGID 0x8, ISVFAMILYID 0x10, ISVEXTPRODID 0x20)
 *     4    2  isv_svn
 *     6    2  reserved1
 *     8   16  cpu_svn
 *    24   16  attribute_mask
 *    40   32  key_id
 *    72    4  misc_mask
 *    76    2  config_svn
 *    78  434  reserved2
 */
export const KEYREQUEST_SIZE = 512;

export const KEY_NAME = { EINITTOKEN: 0, PROVISION: 1, PROVISION_SEAL: 2, REPORT: 3, SEAL: 4 } as const;
export const KEY_POLICY = {
  MRENCLAVE: 0x1,
  MRSIGNER: 0x2,
  NOISVPRODID: 0x4,
  CONFIGID: 0x8,
  ISVFAMILYID: 0x10,
  ISVEXTPRODID: 0x20,
} as const;

export interface KeyRequest {
  keyName: number;
  keyPolicy: number;
  isvSvn: number;
  cpuSvn: Uint8Array;
  attributeMask: Attributes;
  keyId: Uint8Array;
  miscMask: number;
  configSvn: number;
}

export function parseKeyRequest(bytes: Uint8Array): KeyRequest {
  if (bytes.length !== KEYREQUEST_SIZE)
    throw new FormatError(`keyrequest: expected 512 bytes, got ${bytes.length}`, 'ERR_LENGTH');
  const r = new Reader(bytes, 'keyrequest');
  const keyName = r.u16('key_name');
  const keyPolicy = r.u16('key_policy');
  const isvSvn = r.u16('isv_svn');
  r.skip(2, 'reserved1');
  const cpuSvn = r.bytesOf(16, 'cpu_svn');
  const attributeMask = readAttributes(r, 'attribute_mask');
  const keyId = r.bytesOf(32, 'key_id');
  const miscMask = r.u32('misc_mask');
  const configSvn = r.u16('config_svn');
  r.skip(434, 'reserved2');
  r.end();
  return { keyName, keyPolicy, isvSvn, cpuSvn, attributeMask, keyId, miscMask, configSvn };
}

export function serializeKeyRequest(k: KeyRequest): Uint8Array {
  const w = new Writer()
    .u16(k.keyName)
    .u16(k.keyPolicy)
    .u16(k.isvSvn)
    .zeros(2)
    .bytes(abytes(k.cpuSvn, 16, 'cpu_svn'));
  writeAttributes(w, k.attributeMask);
  w.bytes(abytes(k.keyId, 32, 'key_id'))
    .u32(k.miscMask)
    .u16(k.configSvn)
    .zeros(434);
  return w.finish();
}

/**
 * The KEYREQUEST an enclave uses to check a REPORT targeted at it: EGETKEY(REPORT) with the report's
 * KEYID (every other field is ignored by EGETKEY for the REPORT key).
 */
export function reportKeyRequest(keyId: Uint8Array): Uint8Array {
  return serializeKeyRequest({
    keyName: KEY_NAME.REPORT,
    keyPolicy: 0,
    isvSvn: 0,
    cpuSvn: new Uint8Array(16),
    attributeMask: { flags: 0n, xfrm: 0n },
    keyId,
    miscMask: 0,
    configSvn: 0,
  });
}
