import { fromHex, hex } from '../bytes/util.ts';
import { sha256 } from '../crypto/sha256.ts';
import { ATTR } from '../formats/attributes.ts';
import { checkIdentity } from '../attestation/identity-policy.ts';
import { ChannelError } from './errors.ts';
import { ratlsReportData, readRatlsCertificate, type RatlsCertificateReader } from './ratls-cert.ts';
import {
  CHECK,
  type ChannelPolicy,
  type EnclaveIdentityClaims,
  type PeerIdentity,
  type QuoteValidator,
} from './types.ts';

export interface PeerVerification {
  validator: QuoteValidator;
  policy: ChannelPolicy;
  /** Verification time (default: now). Evidence, collateral and the certificate are judged at it. */
  at?: Date | (() => Date);
  /** Remembers parsed peer certificates across handshakes (owned by the caller); default: parse each time. */
  certificates?: RatlsCertificateReader;
}

/**
 * Verifies a peer's RA-TLS certificate (DER) — what runs during every handshake. Steps, each a
 * named check: certificate (readable, one evidence per extension, extensions agree),
 * certificateValidity, the validator's own checks (format, root, signature, TCB …) plus
 * reportData = ratlsReportData(SPKI) (the key binding), then debug and identity against the policy.
 * Throws a ChannelError naming the first failed check; returns the verified identity.
 */
export async function verifyRatlsCertificate(der: Uint8Array, v: PeerVerification): Promise<PeerIdentity> {
  const at = typeof v.at === 'function' ? v.at() : (v.at ?? new Date());
  const c = v.certificates ? v.certificates.read(der) : readRatlsCertificate(der);
  if (at < c.notBefore || at > c.notAfter) {
    throw new ChannelError(
      'ERR_CHANNEL_CERTIFICATE',
      CHECK.certificateValidity,
      `certificate valid ${c.notBefore.toISOString()} – ${c.notAfter.toISOString()}, not at ${at.toISOString()}`,
    );
  }
  let r;
  try {
    r = await v.validator.validate(c.evidence, ratlsReportData(c.spki), at);
  } catch (e) {
    // A validator that throws is a broken validator; the peer is still refused, never let through.
    throw new ChannelError('ERR_CHANNEL_EVIDENCE', CHECK.validator, `validator failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!r.ok) {
    const code = r.check === CHECK.reportData ? 'ERR_CHANNEL_KEY_BINDING' : 'ERR_CHANNEL_EVIDENCE';
    throw new ChannelError(code, r.check, r.message);
  }
  checkPolicy(r.identity, v.policy);
  return {
    ...r.identity,
    ...(r.tcbStatus !== undefined ? { tcbStatus: r.tcbStatus } : {}),
    ...(r.rootIsIntel !== undefined ? { rootIsIntel: r.rootIsIntel } : {}),
    ...(r.advisoryIds ? { advisoryIds: r.advisoryIds } : {}),
    ...(r.evidenceKind ? { evidenceKind: r.evidenceKind } : {}),
    certificateSha256: hex(sha256(der)),
  };
}

/** Applies a ChannelPolicy to verified identity claims; throws ERR_CHANNEL_DEBUG / ERR_CHANNEL_IDENTITY. */
export function checkPolicy(id: EnclaveIdentityClaims, policy: ChannelPolicy): void {
  if (!policy || typeof policy !== 'object')
    throw new ChannelError('ERR_CHANNEL_IDENTITY', CHECK.identity, 'no policy given');
  if ('anyIdentity' in policy && policy.anyIdentity === true) {
    if (id.debug && !policy.allowDebug)
      throw new ChannelError('ERR_CHANNEL_DEBUG', CHECK.debug, 'DEBUG enclave refused (set allowDebug to accept)');
    return;
  }
  const res = checkIdentity(
    {
      mrEnclave: fromHex(id.mrEnclave, 32, 'mrEnclave'),
      mrSigner: fromHex(id.mrSigner, 32, 'mrSigner'),
      isvProdId: id.isvProdId,
      isvSvn: id.isvSvn,
      attributes: { flags: id.debug ? ATTR.DEBUG : 0n, xfrm: 0n },
    },
    policy,
  );
  if (!res.ok)
    throw new ChannelError(
      res.code === 'ERR_DEBUG_ENCLAVE' ? 'ERR_CHANNEL_DEBUG' : 'ERR_CHANNEL_IDENTITY',
      res.code === 'ERR_DEBUG_ENCLAVE' ? CHECK.debug : CHECK.identity,
      res.reason,
    );
}
