import { FormatError } from '../errors.ts';
import { children, expectTag, oidText, parseDer, smallUint, TAG, type DerNode } from './der-reader.ts';

/**
 * Intel's SGX extension in PCK certificates, OID 1.2.840.113741.1.13.1 (Intel "SGX PCK Certificate and
 * CRL Profile", §1.5). The extension value is a DER SEQUENCE of SEQUENCE { OID, value }:
 *
 *   .1  PPID                   OCTET STRING (16)
 *   .2  TCB                    SEQUENCE of SEQUENCE { OID, value }:
 *         .2.1 … .2.16  SGX TCB component SVNs (INTEGER 0–255)
 *         .2.17         PCESVN (INTEGER 0–65535)
 *         .2.18         CPUSVN OCTET STRING (16)
 *   .3  PCE-ID                 OCTET STRING (2)
 *   .4  FMSPC                  OCTET STRING (6)
 *   .5  SGX Type               ENUMERATED (0 Standard, 1 Scalable, 2 Scalable with integrity)
 *   .6  PlatformInstanceID     OCTET STRING (16)          optional (Platform CA certificates)
 *   .7  Configuration          SEQUENCE { .7.1 dynamicPlatform, .7.2 cachedKeys, .7.3 SMTEnabled: BOOLEAN, each optional } optional
 *
 * Parsing is strict: every required entry exactly once, exact lengths, no unknown top-level OIDs.
 */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

export interface PckTcb {
  /** The 16 SGX TCB component SVNs, in order (.2.1 … .2.16). */
  components: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
}

export interface PckExtension {
  ppid: Uint8Array;
  tcb: PckTcb;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  sgxType: number;
  platformInstanceId?: Uint8Array;
  configuration?: { dynamicPlatform?: boolean; cachedKeys?: boolean; smtEnabled?: boolean };
}

/** A refusal inside parsePckExtension, which names the extension and gives the code to all of them. */
function refuse(message: string): never {
  // Stryker disable next-line StringLiteral: parsePckExtension re-throws every refusal under this code
  throw new FormatError(message, 'ERR_PCK_EXTENSION');
}

/** An absent entry (undefined) is refused by expectTag as missing. */
function octets(node: DerNode | undefined, len: number, what: string): Uint8Array {
  const { value } = expectTag(node, TAG.OCTET_STRING, what);
  if (value.length !== len) refuse(`${what}: expected ${len} bytes, got ${value.length}`);
  return value;
}

function boolean(node: DerNode, what: string): boolean {
  expectTag(node, TAG.BOOLEAN, what);
  if (node.value.length !== 1 || (node.value[0] !== 0 && node.value[0] !== 0xff)) refuse(`${what}: not a DER BOOLEAN`);
  return node.value[0] === 0xff;
}

/** Splits SEQUENCE OF SEQUENCE { OID, value } into a map, rejecting duplicates and malformed pairs. */
function entries(node: DerNode | undefined, prefix: string, what: string): Map<string, DerNode> {
  const out = new Map<string, DerNode>();
  for (const item of children(expectTag(node, TAG.SEQUENCE, what), what)) {
    expectTag(item, TAG.SEQUENCE, what);
    const parts = children(item, what);
    if (parts.length !== 2) refuse(`${what}: entry with ${parts.length} elements`);
    const oid = oidText(parts[0], what);
    if (!oid.startsWith(prefix + '.')) refuse(`${what}: unexpected OID ${oid}`);
    const arc = oid.slice(prefix.length + 1);
    if (out.has(arc)) refuse(`${what}: duplicate ${oid}`);
    out.set(arc, parts[1]);
  }
  return out;
}

/**
 * Parses the extension value (the contents of the extnValue OCTET STRING). Every refusal is
 * ERR_PCK_EXTENSION, the DER reader's too (a wrong tag or malformed DER inside an entry).
 */
export function parsePckExtension(extValue: Uint8Array): PckExtension {
  try {
    return readPckExtension(extValue);
  } catch (e) {
    throw new FormatError(`SGX PCK extension: ${(e as Error).message}`, 'ERR_PCK_EXTENSION');
  }
}

function readPckExtension(extValue: Uint8Array): PckExtension {
  const top = entries(parseDer(extValue, 'SGX extension'), SGX_EXTENSION_OID, 'SGX extension');
  for (const arc of top.keys())
    if (!['1', '2', '3', '4', '5', '6', '7'].includes(arc)) refuse(`unknown entry ${SGX_EXTENSION_OID}.${arc}`);
  const ppid = octets(top.get('1'), 16, 'PPID');
  const tcbPrefix = `${SGX_EXTENSION_OID}.2`;
  const tcbMap = entries(top.get('2'), tcbPrefix, 'TCB');
  const components: number[] = [];
  for (let i = 1; i <= 16; i++) {
    const v = smallUint(tcbMap.get(String(i)), TAG.INTEGER, `TCB component ${i}`);
    if (v > 255) refuse(`TCB component ${i} = ${v} is out of range`);
    components.push(v);
  }
  const pceSvn = smallUint(tcbMap.get('17'), TAG.INTEGER, 'PCESVN');
  if (pceSvn > 0xffff) refuse(`PCESVN ${pceSvn} out of range`);
  const cpuSvn = octets(tcbMap.get('18'), 16, 'CPUSVN');
  if (tcbMap.size !== 18) refuse(`TCB has ${tcbMap.size} entries, expected 18`);
  const pceId = octets(top.get('3'), 2, 'PCE-ID');
  const fmspc = octets(top.get('4'), 6, 'FMSPC');
  const sgxType = smallUint(top.get('5'), TAG.ENUMERATED, 'SGX type');
  const ext: PckExtension = { ppid, tcb: { components, pceSvn, cpuSvn }, pceId, fmspc, sgxType };
  const pii = top.get('6');
  if (pii) ext.platformInstanceId = octets(pii, 16, 'PlatformInstanceID');
  const cfg = top.get('7');
  if (cfg) {
    const m = entries(cfg, `${SGX_EXTENSION_OID}.7`, 'Configuration');
    const names = { '1': 'dynamicPlatform', '2': 'cachedKeys', '3': 'smtEnabled' } as const;
    const c: NonNullable<PckExtension['configuration']> = {};
    for (const [arc, node] of m) {
      const name = names[arc as keyof typeof names];
      if (!name) refuse(`unknown Configuration entry .7.${arc}`);
      c[name] = boolean(node, `Configuration.${name}`);
    }
    ext.configuration = c;
  }
  return ext;
}

/**
 * Finds an extension's value in a DER certificate (RFC 5280: Certificate → tbsCertificate → [3] extensions).
 * Returns undefined when absent; throws FormatError on malformed DER.
 */
export function certificateExtension(certDer: Uint8Array, oid: string): Uint8Array | undefined {
  const cert = children(parseDer(certDer, 'certificate'), 'certificate');
  const tbs = children(expectTag(cert[0], TAG.SEQUENCE, 'tbsCertificate'), 'tbsCertificate');
  const extWrapper = tbs.find((n) => n.tag === 0xa3);
  if (!extWrapper) return undefined;
  const exts = children(expectTag(children(extWrapper, 'extensions')[0], TAG.SEQUENCE, 'extensions'), 'extensions');
  let found: Uint8Array | undefined;
  for (const ext of exts) {
    const parts = children(expectTag(ext, TAG.SEQUENCE, 'extension'), 'extension');
    if (oidText(parts[0], 'extension id') !== oid) continue;
    if (found) throw new FormatError(`certificate: extension ${oid} appears twice`, 'ERR_PCK_EXTENSION');
    found = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extnValue').value;
  }
  return found;
}

/** The SGX extension of a PCK certificate (DER). */
export function pckExtensionFromCertificate(certDer: Uint8Array): PckExtension {
  const v = certificateExtension(certDer, SGX_EXTENSION_OID);
  // Stryker disable next-line ConditionalExpression: parsePckExtension(undefined) is refused too, with the same code
  if (!v) throw new FormatError('SGX PCK extension: the certificate has no SGX extension', 'ERR_PCK_EXTENSION');
  return parsePckExtension(v);
}
