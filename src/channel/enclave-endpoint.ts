import { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { validatorFromSpec, type AttestationSpec } from './attestation-spec.ts';
import { ChannelError } from './errors.ts';
import { EnclaveQuoteIssuer, type QuotingEnclaveContext } from './issuer.ts';
import { createRatlsCertificate, RatlsCertificateReader, type RatlsCredentials } from './ratls-cert.ts';
import { attestedSecureContext, startAttestedTls } from './tls.ts';
import { CHECK, type AttestedStream, type ChannelPolicy, type QuoteIssuer, type QuoteValidator } from './types.ts';

/**
 * The enclave half of an RA-TLS endpoint: runs INSIDE the enclave, terminates TLS there. Each
 * connection is a Duplex whose ciphertext arrives by ECALL (`channelData`) and leaves by OCALL
 * (`catena.channel.send`); the host (EnclaveChannelRelay) only moves those bytes to and from TCP.
 * The TLS key, the plaintext and the peer verification never leave the enclave.
 *
 * ECALLs (see ecalls()):  channelInit(config) → { certificate, certPem }
 *   channelAccept(id) · channelConnect(id, policy) · channelData(id, bytes) · channelEnd(id) · channelClose(id)
 * OCALLs it makes:        catena.channel.send(id, bytes) · .end(id) · .close(id) · .event(id, event)
 */
export const CHANNEL_OCALL = {
  send: 'catena.channel.send',
  end: 'catena.channel.end',
  close: 'catena.channel.close',
  event: 'catena.channel.event',
} as const;

export interface EndpointConfig {
  /** How this enclave validates its peers (trusted roots …). */
  attestation: AttestationSpec;
  /** Which peers it accepts: servers it connects to, and clients when requireAttestedClient. */
  policy?: ChannelPolicy;
  requireAttestedClient?: boolean;
  commonName?: string;
}

export type ChannelEvent =
  | { type: 'secure'; role: 'server' | 'client'; peer: AttestedStream['peer'] }
  | { type: 'refused'; role: 'server' | 'client'; code: string; check: string; message: string }
  | { type: 'data'; bytes: Uint8Array };

export type EndpointApp = (
  stream: AttestedStream,
  info: { id: number; role: 'server' | 'client'; emit: (e: ChannelEvent) => void },
) => void;

/** Ciphertext pipe: in by push() from an ECALL, out by OCALL. */
class OcallPipe extends Duplex {
  constructor(
    private readonly ctx: QuotingEnclaveContext,
    private readonly id: number,
  ) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    // Fire-and-forget keeps throughput; OCALLs are delivered in order and the host writes synchronously.
    this.ctx.ocall(CHANNEL_OCALL.send, this.id, new Uint8Array(chunk)).catch((e: Error) => this.destroy(e));
    cb();
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.ctx.ocall(CHANNEL_OCALL.end, this.id).catch(() => undefined);
    cb();
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.ctx.ocall(CHANNEL_OCALL.close, this.id).catch(() => undefined);
    cb(err);
  }
}

export class EnclaveTlsEndpoint {
  #creds: RatlsCredentials | undefined;
  #config: EndpointConfig | undefined;
  /** Built once per init: a DCAP validator stays warm across this enclave's handshakes. */
  #validator: QuoteValidator | undefined;
  /** Per init too: this enclave's TLS context and the peer certificates it has parsed (a bounded LRU). */
  #secureContext: SecureContext | undefined;
  #certificates: RatlsCertificateReader | undefined;
  readonly #pipes = new Map<number, OcallPipe>();
  readonly #streams = new Map<number, AttestedStream>();

  constructor(
    private readonly ctx: QuotingEnclaveContext,
    private readonly app: EndpointApp,
    private readonly issuer: QuoteIssuer = new EnclaveQuoteIssuer(ctx),
  ) {}

  /** The established stream of a connection (for the enclave's own application code). */
  stream(id: number): AttestedStream | undefined {
    return this.#streams.get(id);
  }

  async init(config: EndpointConfig): Promise<{ certificate: Uint8Array; certPem: string }> {
    this.#validator = validatorFromSpec(config.attestation); // fail now, not at the first handshake
    this.#config = config;
    this.#creds = await createRatlsCertificate(this.issuer, config.commonName ? { commonName: config.commonName } : {});
    this.#secureContext = attestedSecureContext({ keyPem: this.#creds.keyPem, certPem: this.#creds.certPem });
    this.#certificates = new RatlsCertificateReader();
    return { certificate: this.#creds.certificate, certPem: this.#creds.certPem };
  }

  #emit(id: number, e: ChannelEvent): void {
    this.ctx.ocall(CHANNEL_OCALL.event, id, e).catch(() => undefined);
  }

  #start(id: number, role: 'server' | 'client', policy?: ChannelPolicy): void {
    const config = this.#config;
    const creds = this.#creds;
    const validator = this.#validator;
    if (!config || !creds || !validator) throw new ChannelError('ERR_CHANNEL_STATE', 'init', 'channelInit has not run');
    if (this.#pipes.has(id)) throw new ChannelError('ERR_CHANNEL_STATE', 'connection', `connection ${id} exists`);
    const pipe = new OcallPipe(this.ctx, id);
    this.#pipes.set(id, pipe);
    const peerPolicy = policy ?? config.policy;
    const verify = role === 'client' || config.requireAttestedClient;
    if (verify && !peerPolicy) throw new ChannelError('ERR_CHANNEL_STATE', CHECK.identity, 'no policy for the peer');
    startAttestedTls(pipe, {
      role,
      credentials: { keyPem: creds.keyPem, certPem: creds.certPem },
      ...(this.#secureContext ? { secureContext: this.#secureContext } : {}),
      ...(verify
        ? {
            verify: {
              validator,
              policy: peerPolicy!,
              ...(this.#certificates ? { certificates: this.#certificates } : {}),
            },
          }
        : {}),
    }).then(
      (stream) => {
        this.#streams.set(id, stream);
        stream.once('close', () => this.#forget(id));
        this.#emit(id, { type: 'secure', role, peer: stream.peer });
        this.app(stream, { id, role, emit: (e) => this.#emit(id, e) });
      },
      (e: ChannelError) => {
        this.#forget(id);
        this.#emit(id, {
          type: 'refused',
          role,
          code: e.code ?? 'ERR_CHANNEL_HANDSHAKE',
          check: e.check ?? 'handshake',
          message: e.message,
        });
      },
    );
  }

  #forget(id: number): void {
    this.#pipes.get(id)?.destroy();
    this.#pipes.delete(id);
    this.#streams.delete(id);
  }

  /** The ECALL table to return from the enclave factory (spread it with the application's own ECALLs). */
  ecalls() {
    return {
      channelInit: (config: EndpointConfig) => this.init(config),
      channelAccept: (id: number) => this.#start(id, 'server'),
      channelConnect: (id: number, policy?: ChannelPolicy) => this.#start(id, 'client', policy),
      channelData: (id: number, bytes: Uint8Array) => {
        this.#pipes.get(id)?.push(bytes);
      },
      channelEnd: (id: number) => {
        this.#pipes.get(id)?.push(null);
      },
      channelClose: (id: number) => this.#forget(id),
    };
  }
}
