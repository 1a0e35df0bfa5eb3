/**
 * Intel SGX Root CA public key (P-256, X‖Y), pinned as Intel's QvE pins it (`INTEL_ROOT_PUB_KEY` in
 * intel/SGXDataCenterAttestationPrimitives QuoteVerification/QvE/Enclave/qve.cpp). The root certificate
 * itself (serial 22650CD6…06AC, valid 2018-05-21 to 2049-12-31) arrives inside every quote's PCK chain;
 * only a chain ending at a self-signed certificate with exactly this key is "Intel's".
 */
export const INTEL_ROOT_PUBLIC_KEY_HEX =
  '0ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f5' +
  '67918e2edc88e40d860bd0cc4ee26aacc988e505a953558c453f6b0904ae7394';
