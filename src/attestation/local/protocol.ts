import { concat, ctEqual, equal, isZero } from '../../bytes/util.ts';
import { aesCmac } from '../../crypto/cmac.ts';
import { ecdhP256Generate, type EcdhKeyPair } from '../../crypto/ecdh.ts';
import { hkdfSha256 } from '../../crypto/hkdf.ts';
import { randomBytes } from '../../crypto/random.ts';
import { sha256Parts } from '../../crypto/sha256.ts';
import { reportKeyRequest } from '../../formats/keyrequest.ts';
import { parseReport, type ReportBody } from '../../formats/report.ts';
import { checkIdentity, type IdentityPolicy } from '../identity-policy.ts';
import { LocalAttestationError } from './errors.ts';
import { decodeMsg1, decodeMsg2, decodeMsg3, encodeMsg1, encodeMsg2, encodeMsg3 } from './messages.ts';
import { LocalSession } from './session.ts';

/**
 * What the protocol needs from the enclave it runs in: the SGX instructions, nothing else.
 * The emulated runtime's EnclaveContext satisfies it; so does a hardware attester.
 */
export interface LocalAttester {
  selfTargetInfo(): Uint8Array;
  ereport(targetInfo: Uint8Array, reportData: Uint8Array): Promise<Uint8Array>;
  egetkey(keyRequest: Uint8Array): Promise<Uint8Array>;
}

const TRANSCRIPT_LABEL = new TextEncoder().encode('catena local-attestation v1');
const ROLE_RESPONDER = new TextEncoder().encode('responder');
const ROLE_INITIATOR = new TextEncoder().encode('initiator');

/** The handshake transcript hash: binds both TARGETINFOs, both ECDH keys and both nonces. */
function transcript(
  ti_i: Uint8Array,
  g_i: Uint8Array,
  n_i: Uint8Array,
  ti_r: Uint8Array,
  g_r: Uint8Array,
  n_r: Uint8Array,
): Uint8Array {
  return sha256Parts(TRANSCRIPT_LABEL, ti_i, g_i, n_i, ti_r, g_r, n_r);
}

/** REPORTDATA = SHA-256(role ‖ transcript) ‖ 32 zero bytes. */
function reportDataFor(role: Uint8Array, th: Uint8Array): Uint8Array {
  return concat(sha256Parts(role, th), new Uint8Array(32));
}

/**
 * Verifies a REPORT targeted at us: MAC under our own REPORT key (EGETKEY with the report's KEYID),
 * then the REPORTDATA binding, then the peer's identity against the policy.
 */
export async function verifyLocalReport(
  sgx: LocalAttester,
  reportBytes: Uint8Array,
  expectedReportData: Uint8Array,
  policy: IdentityPolicy,
): Promise<ReportBody> {
  let report;
  try {
    report = parseReport(reportBytes);
  } catch (e) {
    throw new LocalAttestationError('ERR_LA_MESSAGE', (e as Error).message);
  }
  const key = await sgx.egetkey(reportKeyRequest(report.keyId));

  if (!ctEqual(aesCmac(key, report.rawBody), report.mac)) {
    throw new LocalAttestationError(
      'ERR_LA_REPORT_MAC',
      'peer REPORT MAC does not verify: made for another target, on another platform, or altered',
    );
  }
  if (!equal(report.body.reportData, expectedReportData)) {
    throw new LocalAttestationError('ERR_LA_BINDING', 'peer REPORTDATA does not bind this handshake (keys and nonces)');
  }
  const id = checkIdentity(report.body, policy);
  if (!id.ok) throw new LocalAttestationError(id.code, id.reason);
  return report.body;
}

function sessionKeys(shared: Uint8Array, th: Uint8Array): { i2r: Uint8Array; r2i: Uint8Array } {
  const okm = hkdfSha256(shared, th, 'catena local-attestation v1 session keys', 32);
  return { i2r: okm.slice(0, 16), r2i: okm.slice(16, 32) };
}

/**
 * ECDH with the peer's public key from a handshake message. A key that is not a P-256 point is a
 * malformed message (node:crypto throws its own error for it, which would not be a LocalAttestationError).
 */
function sharedSecret(ecdh: EcdhKeyPair, peerPublic: Uint8Array): Uint8Array {
  let shared;
  try {
    shared = ecdh.derive(peerPublic);
  } catch (e) {
    throw new LocalAttestationError('ERR_LA_MESSAGE', `peer ECDH public key: ${(e as Error).message}`);
  }
  // Stryker disable next-line ConditionalExpression,StringLiteral: unreachable — node:crypto refuses off-curve points and the identity, and no valid peer key gives x = 0 with our fresh random scalar
  if (isZero(shared)) throw new LocalAttestationError('ERR_LA_MESSAGE', 'degenerate ECDH secret');
  return shared;
}

const peerOf = (b: ReportBody) => ({
  mrEnclave: b.mrEnclave,
  mrSigner: b.mrSigner,
  isvProdId: b.isvProdId,
  isvSvn: b.isvSvn,
});

/**
 * The initiator side. Use once: start() → MSG1, finish(MSG2) → MSG3 + session.
 * Each instance holds one fresh nonce and ephemeral key; calling a step twice is refused.
 */
export class LocalAttestationInitiator {
  private state: 'new' | 'sent1' | 'done' = 'new';
  private ecdh: EcdhKeyPair | undefined;
  private nonce: Uint8Array = new Uint8Array(0);
  private ti: Uint8Array = new Uint8Array(0);
  constructor(
    private readonly sgx: LocalAttester,
    private readonly policy: IdentityPolicy,
  ) {}

  start(): Uint8Array {
    if (this.state !== 'new') throw new LocalAttestationError('ERR_LA_STATE', 'initiator already started');
    this.ecdh = ecdhP256Generate();
    this.nonce = randomBytes(32);
    this.ti = this.sgx.selfTargetInfo();
    this.state = 'sent1';
    return encodeMsg1({ targetInfo: this.ti, ecdhPublic: this.ecdh.publicKey, nonce: this.nonce });
  }

  async finish(msg2: Uint8Array): Promise<{ msg3: Uint8Array; session: LocalSession }> {
    if (this.state !== 'sent1' || !this.ecdh) throw new LocalAttestationError('ERR_LA_STATE', 'MSG2 not expected now');
    const m = decodeMsg2(msg2);
    // Stryker disable next-line StringLiteral: the state is private; any value but 'sent1' refuses a second MSG2 alike
    this.state = 'done'; // one attempt per handshake: a failed MSG2 is not retried with the same nonce
    const th = transcript(this.ti, this.ecdh.publicKey, this.nonce, m.targetInfo, m.ecdhPublic, m.nonce);
    const peer = await verifyLocalReport(this.sgx, m.report, reportDataFor(ROLE_RESPONDER, th), this.policy);
    const shared = sharedSecret(this.ecdh, m.ecdhPublic);
    const report = await this.sgx.ereport(m.targetInfo, reportDataFor(ROLE_INITIATOR, th));
    const k = sessionKeys(shared, th);
    return { msg3: encodeMsg3({ report }), session: new LocalSession(k.i2r, k.r2i, 1, 2, peerOf(peer)) };
  }
}

/** The responder side: respond(MSG1) → MSG2, finish(MSG3) → session. */
export class LocalAttestationResponder {
  private state: 'new' | 'sent2' | 'done' = 'new';
  private th: Uint8Array = new Uint8Array(0);
  private shared: Uint8Array = new Uint8Array(0);
  constructor(
    private readonly sgx: LocalAttester,
    private readonly policy: IdentityPolicy,
  ) {}

  async respond(msg1: Uint8Array): Promise<Uint8Array> {
    if (this.state !== 'new') throw new LocalAttestationError('ERR_LA_STATE', 'MSG1 not expected now');
    const m = decodeMsg1(msg1);
    const ecdh = ecdhP256Generate();
    const nonce = randomBytes(32);
    const ti = this.sgx.selfTargetInfo();
    this.th = transcript(m.targetInfo, m.ecdhPublic, m.nonce, ti, ecdh.publicKey, nonce);
    this.shared = sharedSecret(ecdh, m.ecdhPublic);
    const report = await this.sgx.ereport(m.targetInfo, reportDataFor(ROLE_RESPONDER, this.th));
    this.state = 'sent2';
    return encodeMsg2({ targetInfo: ti, ecdhPublic: ecdh.publicKey, nonce, report });
  }

  async finish(msg3: Uint8Array): Promise<LocalSession> {
    if (this.state !== 'sent2') throw new LocalAttestationError('ERR_LA_STATE', 'MSG3 not expected now');
    const m = decodeMsg3(msg3);
    // Stryker disable next-line StringLiteral: the state is private; any value but 'sent2' refuses a second MSG3 alike
    this.state = 'done';
    const peer = await verifyLocalReport(this.sgx, m.report, reportDataFor(ROLE_INITIATOR, this.th), this.policy);
    const k = sessionKeys(this.shared, this.th);
    return new LocalSession(k.r2i, k.i2r, 2, 1, peerOf(peer));
  }
}
