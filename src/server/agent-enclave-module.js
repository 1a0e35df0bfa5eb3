// The agent enclave: one per agent, on one of its platforms. It makes the agent's RA-TLS key pair
// and certificate in here (the quote's REPORTDATA binds the key, docs/channel.md "Certificate") and
// hands them to the agent process, which serves the agent API and calls other agents with them.
// It offers no ECALL that quotes data chosen by the host: its quotes only ever bind keys it made.
import { createRatlsCertificate, EnclaveQuoteIssuer } from 'catena/channel';

export default function agentEnclave(ctx) {
  const issuer = new EnclaveQuoteIssuer(ctx);
  return {
    async issueCertificate(commonName) {
      const c = await createRatlsCertificate(issuer, { commonName: String(commonName ?? 'Catena agent') });
      return { keyPem: c.keyPem, certPem: c.certPem, certificate: c.certificate };
    },
  };
}
