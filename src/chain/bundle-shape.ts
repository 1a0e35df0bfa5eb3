import { policyProblem } from './policy-shape.ts';

/**
 * Structural check of an untrusted proof bundle before any field is used: right format and version,
 * every field present with the right JSON type, hex fields lowercase hex. Returns the first problem.
 */
type Check = { ok: true } | { ok: false; message: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isHex = (v: unknown, len?: number) =>
  typeof v === 'string' && /^([0-9a-f]{2})*$/.test(v) && (len === undefined || v.length === len * 2);
const isStr = (v: unknown) => typeof v === 'string';
// Number.isSafeInteger does not coerce: false for every non-number.
const isInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

function identityOk(v: unknown): boolean {
  return (
    isObj(v) &&
    isHex(v.mrEnclave, 32) &&
    isHex(v.mrSigner, 32) &&
    isInt(v.isvProdId) &&
    isInt(v.isvSvn) &&
    isHex(v.attributes, 16) &&
    typeof v.debug === 'boolean'
  );
}

/** A TD's or a workload's identity (issue 16), as a link or element records it. */
export function layerIdentityOk(v: unknown): boolean {
  if (!isObj(v)) return false;
  if (v.kind === 'tdx-td') {
    const keys = [
      'kind',
      'mrTd',
      'rtmr',
      'tdAttributes',
      'xfam',
      'mrConfigId',
      'mrOwner',
      'mrOwnerConfig',
      'mrSeam',
      'debug',
    ];
    return (
      Object.keys(v).length === keys.length &&
      // Stryker disable next-line MethodExpression: every listed key but kind (tested above) is then checked by value: a missing one fails there
      keys.every((k) => k in v) &&
      isHex(v.mrTd, 48) &&
      Array.isArray(v.rtmr) &&
      v.rtmr.length === 4 &&
      v.rtmr.every((r) => isHex(r, 48)) &&
      isHex(v.tdAttributes, 8) &&
      isHex(v.xfam, 8) &&
      isHex(v.mrConfigId, 48) &&
      isHex(v.mrOwner, 48) &&
      isHex(v.mrOwnerConfig, 48) &&
      isHex(v.mrSeam, 48) &&
      typeof v.debug === 'boolean'
    );
  }
  if (v.kind === 'td-workload')
    return (
      Object.keys(v).length === 3 &&
      typeof v.imageDigest === 'string' &&
      v.imageDigest.length > 0 &&
      v.imageDigest.length <= 1024 &&
      isInt(v.event)
    );
  return false;
}

/** Any member's identity: an SGX enclave's (no kind), a TD's or a workload's. */
export function memberIdentityOk(v: unknown): boolean {
  return isObj(v) && v.kind !== undefined ? layerIdentityOk(v) : identityOk(v);
}

const KIND_OF_IDENTITY: Record<string, string> = { 'tdx-td': 'tdx-td', 'td-workload': 'td-workload' };

export function checkBundleShape(b: unknown): Check {
  const no = (message: string): Check => ({ ok: false, message });
  if (!isObj(b)) return no('bundle is not a JSON object');
  if (b.format !== 'catena-proof-bundle') return no('not a catena proof bundle');
  if (b.version !== 1) return no(`unsupported bundle version ${String(b.version)}`);
  const c = b.chain;
  if (
    !isObj(c) ||
    c.version !== 1 ||
    !isStr(c.id) ||
    !isStr(c.name) ||
    !isStr(c.createdAt) ||
    !isHex(c.rootSha256, 32) ||
    typeof c.emulatedRoot !== 'boolean' ||
    !isHex(c.ownerKey, 64) ||
    !isObj(c.policy) ||
    !isHex(c.signature, 64)
  ) {
    return no('chain header is malformed');
  }
  // Stryker disable next-line ObjectLiteral: strict undefined is lenient too
  const policy = policyProblem(c.policy, { strict: false });
  if (policy) return no(`chain policy is malformed: ${policy}`);
  if (!Array.isArray(b.elements) || !Array.isArray(b.links) || !Array.isArray(b.revocations) || !isObj(b.collateral))
    return no('bundle sections missing');
  for (const [i, e] of b.elements.entries()) {
    if (
      !isObj(e) ||
      !isStr(e.id) ||
      !['platform', 'qe', 'enclave', 'tdx-td', 'td-workload'].includes(e.kind as string) ||
      !(e.parent === null || isStr(e.parent)) ||
      !isStr(e.platform)
    )
      return no(`element ${i} is malformed`);
    if (e.kind === 'enclave' && (!identityOk(e.identity) || !isHex(e.elementKey, 64)))
      return no(`enclave element ${String(e.id)} is malformed`);
    if (
      (e.kind === 'tdx-td' || e.kind === 'td-workload') &&
      (!layerIdentityOk(e.identity) ||
        KIND_OF_IDENTITY[(e.identity as { kind: string }).kind] !== e.kind ||
        !isHex(e.elementKey, 64))
    )
      return no(`${e.kind} element ${String(e.id)} is malformed`);
  }
  for (const [i, l] of b.links.entries()) {
    if (
      !isObj(l) ||
      l.version !== 1 ||
      !isStr(l.chain) ||
      !(l.parent === null || isStr(l.parent)) ||
      !isStr(l.child) ||
      !['local', 'remote', 'measured'].includes(l.type as string)
    )
      return no(`link ${i} is malformed`);
    if (
      !isHex(l.nonce, 32) ||
      !isHex(l.childKey, 64) ||
      !memberIdentityOk(l.childIdentity) ||
      !isStr(l.childPlatform) ||
      !isStr(l.at) ||
      !isHex(l.signature, 64)
    )
      return no(`link ${i} (${String(l.child)}) is malformed`);
    const ev = l.evidence;
    if (
      !isObj(ev) ||
      !(
        (ev.kind === 'sgx-report' && isHex(ev.report)) ||
        (ev.kind === 'dcap-quote' &&
          isHex(ev.quote) &&
          isHex(ev.collateral, 32) &&
          (ev.eventLog === undefined || isHex(ev.eventLog))) ||
        (ev.kind === 'td-event' && isInt(ev.event) && isHex(ev.digest, 48))
      )
    )
      return no(`link ${i} (${String(l.child)}) evidence is malformed`);
    if (!isObj(l.appraisal) || l.appraisal.verdict !== 'accepted') return no(`link ${i} appraisal is malformed`);
  }
  for (const [i, r] of b.revocations.entries()) {
    if (!isObj(r) || !isStr(r.element) || !isStr(r.reason) || !isStr(r.at) || !isStr(r.signature))
      return no(`revocation ${i} is malformed`);
  }
  for (const [k, v] of Object.entries(b.collateral)) {
    if (!isHex(k, 32) || !isObj(v) || !Object.values(v).every(isStr)) return no(`collateral ${k} is malformed`);
  }
  return { ok: true };
}
