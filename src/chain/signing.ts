import { concat } from '../bytes/util.ts';
import { sha256Parts } from '../crypto/sha256.ts';
import { signingBytes } from './signing-bytes.ts';
import type { ChainHeader, Link, Revocation } from './types.ts';

const ELEMENT_BINDING = new TextEncoder().encode('catena/element-binding/v1');
const utf8 = new TextEncoder();

/**
 * The REPORTDATA an element presents when it joins a chain:
 *   SHA-256("catena/element-binding/v1" ‖ chain id (utf-8) ‖ 0x00 ‖ element key (64) ‖ parent nonce (32)) ‖ 0^32.
 * It binds the element key created inside the enclave to this chain and to the parent's fresh challenge.
 */
export function elementReportData(chainId: string, elementKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return concat(
    sha256Parts(ELEMENT_BINDING, utf8.encode(chainId), new Uint8Array(1), elementKey, nonce),
    new Uint8Array(32),
  );
}

export function linkSigningBytes(link: Omit<Link, 'signature'> & { signature?: string }): Uint8Array {
  const { signature: _s, ...rest } = link;
  return signingBytes('link', rest);
}

export function headerSigningBytes(h: Omit<ChainHeader, 'signature'> & { signature?: string }): Uint8Array {
  const { signature: _s, ...rest } = h;
  return signingBytes('chain-header', rest);
}

export function revocationSigningBytes(
  chainId: string,
  r: Omit<Revocation, 'signature'> & { signature?: string },
): Uint8Array {
  const { signature: _s, ...rest } = r;
  return signingBytes('revocation', { chain: chainId, ...rest });
}
