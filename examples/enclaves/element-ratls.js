// Example enclave: a chain element that also serves an RA-TLS channel (docs/cot-api.md).
// The element ECALLs (createKey, evidence, admitLocal, admitRemote) are those of Catena's element
// enclave (src/cot/element-enclave.js): the element key is created here and never leaves. The
// channel ECALLs are those of EnclaveTlsEndpoint: the TLS key, its certificate (carrying a DCAP quote
// of THIS enclave, REPORTDATA = SHA-256 of the certificate key) and the plaintext stay in here too.
// The application: an echo service that prefixes each reply with this element's public key, so a
// client can see which chain element answered.
import { elementEcalls } from 'catena/cot/element-core';
import { EnclaveTlsEndpoint } from 'catena/channel';

export default function elementWithChannel(ctx) {
  const element = elementEcalls(ctx);
  const endpoint = new EnclaveTlsEndpoint(ctx, (stream) => {
    stream.on('error', () => stream.destroy());
    stream.on('data', (chunk) => stream.write(`${Buffer.from(element.publicKey()).toString('hex').slice(0, 16)}: ${chunk}`));
    stream.on('end', () => stream.end());
  });
  return { ...element, ...endpoint.ecalls() };
}
