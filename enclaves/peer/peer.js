// Example enclave: one side of Catena's mutual local attestation (docs/local-attestation.md), then a
// protected session. The host only relays opaque messages; keys and the peer check stay in here.
import { LocalAttestationInitiator, LocalAttestationResponder } from 'catena/attestation/local';

export default function peer(ctx) {
  let initiator;
  let responder;
  let session;
  const peerInfo = () => ({
    mrEnclave: session.peer.mrEnclave,
    mrSigner: session.peer.mrSigner,
    isvProdId: session.peer.isvProdId,
    isvSvn: session.peer.isvSvn,
  });
  return {
    /** Initiator, step 1: MSG1. `policy` is the identity this enclave expects of its peer. */
    start(policy) {
      initiator = new LocalAttestationInitiator(ctx, policy);
      return initiator.start();
    },
    /** Responder, step 1: MSG1 → MSG2. */
    async respond(msg1, policy) {
      responder = new LocalAttestationResponder(ctx, policy);
      return responder.respond(msg1);
    },
    /** Initiator, step 2: MSG2 → MSG3; the session is open on this side. */
    async finish(msg2) {
      const r = await initiator.finish(msg2);
      session = r.session;
      return { msg3: r.msg3, peer: peerInfo() };
    },
    /** Responder, step 2: MSG3; the session is open on this side. */
    async accept(msg3) {
      session = await responder.finish(msg3);
      return { peer: peerInfo() };
    },
    send(plaintext) {
      return session.seal(plaintext);
    },
    receive(record) {
      return session.open(record);
    },
  };
}
