import { CatenaError } from '../errors.ts';

/**
 * Errors raised by the emulated SGX platform. The codes mirror the faults and status codes real
 * hardware and the Intel SDK return (EINIT's SGX_INVALID_*, EGETKEY's SGX_INVALID_ISVSVN /
 * SGX_INVALID_CPUSVN / #GP, sgx_unseal_data's SGX_ERROR_MAC_MISMATCH), so callers can branch on them.
 *
 * EINIT (Platform.loadEnclave):
 * - ERR_EINIT_IMAGE          the SGXS stream or the enclave header page is malformed
 * - ERR_EINIT_SIGNATURE      SIGSTRUCT does not verify (RSA signature, Q1/Q2, header constants)
 * - ERR_EINIT_ENCLAVEHASH    SIGSTRUCT.ENCLAVEHASH differs from the measured MRENCLAVE
 * - ERR_EINIT_DEBUG          the requested DEBUG bit differs from what SIGSTRUCT allows
 * - ERR_EINIT_ATTRIBUTES     the requested ATTRIBUTES differ from SIGSTRUCT under its mask, or use a refused bit
 * - ERR_EINIT_MISCSELECT     the requested MISCSELECT differs from SIGSTRUCT under its mask
 * - ERR_EINIT_PROVISIONKEY   PROVISIONKEY requested by a signer the launch policy does not allow
 * EGETKEY / EREPORT:
 * - ERR_EGETKEY_KEYREQUEST   malformed KEYREQUEST (length, reserved bytes, unknown key name or policy bits)
 * - ERR_EGETKEY_ISVSVN       requested ISVSVN above the enclave's
 * - ERR_EGETKEY_CPUSVN       requested CPUSVN above the platform's
 * - ERR_EGETKEY_ATTRIBUTE    PROVISION / PROVISION_SEAL / EINITTOKEN key without the matching attribute
 * - ERR_EREPORT_INPUT        TARGETINFO or REPORTDATA of the wrong length
 * Sealing:
 * - ERR_SEALED_DATA          a sealed blob is malformed
 * - ERR_UNSEAL_MAC           the blob does not open: sealed by another enclave (or signer), on another
 *                            platform, or altered
 * - ERR_UNSEAL_AAD           the blob opens but its additional authenticated data is not the expected one
 * Runtime and platform:
 * - ERR_ECALL_UNKNOWN        the enclave exports no such ECALL
 * - ERR_OCALL_UNKNOWN        the host registered no such OCALL
 * - ERR_ENCLAVE_MODULE       the enclave module failed to load or has no default factory
 * - ERR_ENCLAVE_DESTROYED    the enclave was destroyed (or its platform closed)
 * - ERR_ENCLAVE_CRASHED      the isolated enclave's worker exited
 * - ERR_PLATFORM_CLOSED      the platform was closed
 * - ERR_PLATFORM_DATA        the platform's data directory is unreadable or inconsistent
 * - ERR_ENCLAVE_CONFIG       an enclave config is invalid
 */
export class SgxError extends CatenaError {}

/** An error thrown inside an isolated enclave (or host OCALL), revived on the other side of the boundary with its code. */
export class EnclaveCallError extends CatenaError {
  /** The error's class name on the side that threw it. */
  readonly remoteName: string;
  constructor(code: string, message: string, remoteName: string) {
    super(code, message);
    this.remoteName = remoteName;
  }
}
