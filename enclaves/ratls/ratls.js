// Example enclave: an RA-TLS endpoint terminated INSIDE the enclave (docs/channel.md).
// Its TLS key and certificate are made in here, bound to this enclave's evidence through
// REPORTDATA; the host only relays ciphertext (EnclaveChannelRelay). As a server it echoes what it
// receives; as a client it reports what it receives to the host (a demo: the application decides).
import { EnclaveTlsEndpoint } from 'catena/channel';

export default function ratls(ctx) {
  const endpoint = new EnclaveTlsEndpoint(ctx, (stream, { role, emit }) => {
    stream.on('error', () => stream.destroy());
    if (role === 'server') {
      stream.on('data', (chunk) => stream.write(chunk)); // echo
      stream.on('end', () => stream.end());
    } else {
      stream.on('data', (chunk) => emit({ type: 'data', bytes: new Uint8Array(chunk) }));
    }
  });
  return {
    ...endpoint.ecalls(),
    /** Client side: send application bytes on an established connection. */
    channelWrite(id, bytes) {
      const s = endpoint.stream(id);
      if (!s) throw new Error(`no established connection ${id}`);
      s.write(bytes);
    },
    identity() {
      return ctx.identity;
    },
  };
}
