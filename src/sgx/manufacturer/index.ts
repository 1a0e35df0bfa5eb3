export {
  Manufacturer,
  normalizeSerial,
  DEFAULT_PCS_URL,
  DEFAULT_QE_ISVPRODID,
  DEFAULT_QE_ISVSVN,
  DEFAULT_ATTRIBUTES_MASK,
  type ManufacturerOptions,
  type PlatformDescription,
  type QeDescription,
  type PckRecord,
  type PckCa,
  type CrlList,
  type PckChainIssuer,
  type CollateralSet,
} from './manufacturer.ts';
export {
  collateralJson,
  writeCollateralDir,
  writeCollateralJson,
  collateralFileNames,
  type DcapQvlCollateral,
} from './collateral.ts';
export { encodeSgxExtension, SGX_TYPE, type SgxExtensionFields } from './sgx-extension.ts';
export {
  signTcbInfo,
  signQeIdentity,
  tcbInfoText,
  qeIdentityText,
  pceIdHex,
  type SignedCollateral,
  type TcbInfoFields,
  type QeIdentityFields,
  type QeLevelSpec,
} from './sign-collateral.ts';
export {
  TCB_STATUSES,
  defaultTcbLevels,
  matchTcbLevel,
  recoverTcb,
  tcbAtLeast,
  isoSeconds,
  type TcbStatus,
  type TcbLevelSpec,
  type PlatformTcb,
  type TcbRecoveryOptions,
} from './tcb-levels.ts';
export { issueCertificate, keyIdentifier, type CertificateSpec } from './issue-certificate.ts';
export { issueCrl, CRL_REASON, type RevokedEntry, type CrlSpec } from './issue-crl.ts';
export { certificatePem, crlPem, pemCertificates } from './keys.ts';
export { CERT_NAMES, SGX_EXTENSION_OID } from './names.ts';
export { ManufacturerError } from './errors.ts';
export { buildPcsServer, type PcsServerOptions } from './pcs-server.ts';
export {
  startEmulatedDcapIssuer,
  MANUFACTURER_DIR,
  type EmulatedDcapIssuer,
  type EmulatedDcapIssuerOptions,
} from './emulated-dcap-issuer.ts';
