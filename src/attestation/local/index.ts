export {
  LocalAttestationInitiator,
  LocalAttestationResponder,
  verifyLocalReport,
  type LocalAttester,
} from './protocol.ts';
export { LocalSession } from './session.ts';
export { LocalAttestationError } from './errors.ts';
export { encodeMsg1, decodeMsg1, encodeMsg2, decodeMsg2, encodeMsg3, decodeMsg3, LA_VERSION } from './messages.ts';
