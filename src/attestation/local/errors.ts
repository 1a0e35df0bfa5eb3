import { CatenaError } from '../../errors.ts';

/**
 * Why a local attestation or a session message was refused. Codes:
 * - ERR_LA_MESSAGE      malformed protocol message (length, version, an ECDH key not on P-256)
 * - ERR_LA_STATE        message out of protocol order (e.g. a replayed or reordered handshake message)
 * - ERR_LA_REPORT_MAC   the peer's REPORT MAC does not verify under our REPORT key: it was made for
 *                       another target, on another platform, or altered in any bit
 * - ERR_LA_BINDING      the REPORTDATA does not bind this handshake's keys and nonces
 * - ERR_DEBUG_ENCLAVE   the peer is a DEBUG enclave and the policy does not allow it
 * - ERR_IDENTITY_MISMATCH the peer's identity fails the policy
 * - ERR_LA_SEQUENCE     a session record was replayed, reordered or dropped
 * - ERR_LA_DECRYPT      a session record failed authentication
 */
export class LocalAttestationError extends CatenaError {}
