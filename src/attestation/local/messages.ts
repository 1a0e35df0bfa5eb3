import { Reader, Writer } from '../../bytes/cursor.ts';
import { TARGETINFO_SIZE } from '../../formats/targetinfo.ts';
import { REPORT_SIZE } from '../../formats/report.ts';
import { LocalAttestationError } from './errors.ts';

/**
 * Wire format of the three handshake messages (all little-endian, fixed size, no trailing bytes):
 *   MSG1 (initiator → responder): type u8 = 1 ‖ version u8 = 1 ‖ TARGETINFO_i (512) ‖ ECDH g_i (64) ‖ nonce_i (32)
 *   MSG2 (responder → initiator): type u8 = 2 ‖ version u8 = 1 ‖ TARGETINFO_r (512) ‖ ECDH g_r (64) ‖ nonce_r (32) ‖ REPORT_r→i (432)
 *   MSG3 (initiator → responder): type u8 = 3 ‖ version u8 = 1 ‖ REPORT_i→r (432)
 */
export const LA_VERSION = 1;

export interface Msg1 {
  targetInfo: Uint8Array;
  ecdhPublic: Uint8Array;
  nonce: Uint8Array;
}
export interface Msg2 extends Msg1 {
  report: Uint8Array;
}
export interface Msg3 {
  report: Uint8Array;
}

function header(r: Reader, type: number): void {
  const t = r.u8('type');
  const v = r.u8('version');
  if (t !== type) throw new LocalAttestationError('ERR_LA_STATE', `expected handshake message ${type}, got type ${t}`);
  if (v !== LA_VERSION) throw new LocalAttestationError('ERR_LA_MESSAGE', `unsupported protocol version ${v}`);
}

function strict<T>(bytes: Uint8Array, name: string, type: number, read: (r: Reader) => T): T {
  try {
    const r = new Reader(bytes, name);
    header(r, type);
    const v = read(r);
    r.end();
    return v;
  } catch (e) {
    if (e instanceof LocalAttestationError) throw e;
    throw new LocalAttestationError('ERR_LA_MESSAGE', (e as Error).message);
  }
}

export function encodeMsg1(m: Msg1): Uint8Array {
  return new Writer()
    .u8(1)
    .u8(LA_VERSION)
    .bytes(m.targetInfo, TARGETINFO_SIZE)
    .bytes(m.ecdhPublic, 64)
    .bytes(m.nonce, 32)
    .finish();
}
export function decodeMsg1(b: Uint8Array): Msg1 {
  return strict(b, 'local attestation MSG1', 1, (r) => ({
    targetInfo: r.bytesOf(TARGETINFO_SIZE, 'targetinfo'),
    ecdhPublic: r.bytesOf(64, 'ecdh public key'),
    nonce: r.bytesOf(32, 'nonce'),
  }));
}
export function encodeMsg2(m: Msg2): Uint8Array {
  return new Writer()
    .u8(2)
    .u8(LA_VERSION)
    .bytes(m.targetInfo, TARGETINFO_SIZE)
    .bytes(m.ecdhPublic, 64)
    .bytes(m.nonce, 32)
    .bytes(m.report, REPORT_SIZE)
    .finish();
}
export function decodeMsg2(b: Uint8Array): Msg2 {
  return strict(b, 'local attestation MSG2', 2, (r) => ({
    targetInfo: r.bytesOf(TARGETINFO_SIZE, 'targetinfo'),
    ecdhPublic: r.bytesOf(64, 'ecdh public key'),
    nonce: r.bytesOf(32, 'nonce'),
    report: r.bytesOf(REPORT_SIZE, 'report'),
  }));
}
export function encodeMsg3(m: Msg3): Uint8Array {
  return new Writer().u8(3).u8(LA_VERSION).bytes(m.report, REPORT_SIZE).finish();
}
export function decodeMsg3(b: Uint8Array): Msg3 {
  return strict(b, 'local attestation MSG3', 3, (r) => ({ report: r.bytesOf(REPORT_SIZE, 'report') }));
}
