import { Reader, Writer } from '../bytes/cursor.ts';
import { abytes } from '../bytes/util.ts';
import { FormatError } from '../errors.ts';
import { readAttributes, writeAttributes, type Attributes } from './attributes.ts';

/**
 * sgx_target_info_t — 512 bytes (Intel SDK `sgx_report.h`): who a REPORT is for.
 *
 *   off  len  field
 *     0   32  mr_enclave
 *    32   16  attributes
 *    48    2  reserved1
 *    50    2  config_svn
 *    52    4  misc_select
 *    56    8  reserved2
 *    64   64  config_id
 *   128  384  reserved3
 */
export const TARGETINFO_SIZE = 512;

export interface TargetInfo {
  mrEnclave: Uint8Array;
  attributes: Attributes;
  configSvn: number;
  miscSelect: number;
  configId: Uint8Array;
}

export function parseTargetInfo(bytes: Uint8Array): TargetInfo {
  if (bytes.length !== TARGETINFO_SIZE)
    throw new FormatError(`targetinfo: expected 512 bytes, got ${bytes.length}`, 'ERR_LENGTH');
  const r = new Reader(bytes, 'targetinfo');
  const mrEnclave = r.bytesOf(32, 'mr_enclave');
  const attributes = readAttributes(r);
  r.skip(2, 'reserved1');
  const configSvn = r.u16('config_svn');
  const miscSelect = r.u32('misc_select');
  r.skip(8, 'reserved2');
  const configId = r.bytesOf(64, 'config_id');
  r.skip(384, 'reserved3');
  r.end();
  return { mrEnclave, attributes, configSvn, miscSelect, configId };
}

export function serializeTargetInfo(t: TargetInfo): Uint8Array {
  const w = new Writer().bytes(abytes(t.mrEnclave, 32, 'mr_enclave'));
  writeAttributes(w, t.attributes);
  w.zeros(2)
    .u16(t.configSvn)
    .u32(t.miscSelect)
    .zeros(8)
    .bytes(abytes(t.configId, 64, 'config_id'))
    .zeros(384);
  return w.finish();
}
