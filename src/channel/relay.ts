import { EventEmitter } from 'node:events';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CHANNEL_OCALL, type ChannelEvent } from './enclave-endpoint.ts';
import { ChannelError } from './errors.ts';
import type { ChannelPolicy } from './types.ts';

/** What the relay needs of an enclave handle (structural: channel does not import sgx). */
export interface EcallTarget {
  ecall(name: string, ...args: unknown[]): Promise<unknown>;
}

/**
 * The host half of an enclave's RA-TLS endpoint: moves ciphertext between TCP sockets and the
 * enclave (ECALL in, OCALL out) and reports the enclave's handshake outcomes. It never sees a key
 * or a plaintext byte. Create it before loading the enclave, pass `relay.ocalls()` to loadEnclave,
 * then `attach(handle)`.
 *
 * Events: 'secure' (id, {role, peer}), 'refused' (id, {role, code, check, message}),
 *         'data' (id, bytes) — only what the enclave application chooses to report — and 'closed' (id).
 */
export class EnclaveChannelRelay extends EventEmitter {
  #enclave: EcallTarget | undefined;
  readonly #conns = new Map<number, Socket>();
  #next = 1;
  #server: Server | undefined;

  ocalls(): Record<string, (...args: never[]) => unknown> {
    return {
      [CHANNEL_OCALL.send]: (id: number, bytes: Uint8Array) => {
        this.#conns.get(id)?.write(bytes);
      },
      [CHANNEL_OCALL.end]: (id: number) => {
        this.#conns.get(id)?.end();
      },
      [CHANNEL_OCALL.close]: (id: number) => {
        this.#conns.get(id)?.destroy();
      },
      [CHANNEL_OCALL.event]: (id: number, e: ChannelEvent) => {
        if (e.type === 'data') this.emit('data', id, e.bytes);
        else this.emit(e.type, id, e);
      },
    };
  }

  attach(enclave: EcallTarget): this {
    this.#enclave = enclave;
    return this;
  }

  #enclaveOrThrow(): EcallTarget {
    if (!this.#enclave) throw new ChannelError('ERR_CHANNEL_STATE', 'relay', 'no enclave attached to the relay');
    return this.#enclave;
  }

  #wire(id: number, tcp: Socket): void {
    const e = this.#enclaveOrThrow();
    this.#conns.set(id, tcp);
    const lost = () => tcp.destroy();
    tcp.on('data', (b: Buffer) => void e.ecall('channelData', id, new Uint8Array(b)).catch(lost));
    tcp.on('end', () => void e.ecall('channelEnd', id).catch(lost));
    tcp.on('error', () => undefined);
    tcp.on('close', () => {
      this.#conns.delete(id);
      void e.ecall('channelClose', id).catch(() => undefined);
      this.emit('closed', id);
    });
  }

  /** Accepts TCP connections and hands each to the enclave as a TLS server connection. */
  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    const e = this.#enclaveOrThrow();
    // noDelay: TLS flights are small writes; Nagle + delayed ACK would stall each handshake by tens of ms.
    const server = createServer({ noDelay: true }, (tcp) => {
      const id = this.#next++;
      this.#wire(id, tcp);
      e.ecall('channelAccept', id).catch(() => tcp.destroy());
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  /** Opens TCP to host:port and lets the enclave run a TLS client on it; resolves when the enclave reports the outcome. */
  async connect(
    host: string,
    port: number,
    policy?: ChannelPolicy,
  ): Promise<{ id: number; event: Extract<ChannelEvent, { type: 'secure' | 'refused' }> }> {
    const e = this.#enclaveOrThrow();
    const tcp = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host, port, noDelay: true }, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const id = this.#next++;
    const outcome = new Promise<{ id: number; event: Extract<ChannelEvent, { type: 'secure' | 'refused' }> }>(
      (resolve) => {
        const on = (cid: number, ev: Extract<ChannelEvent, { type: 'secure' | 'refused' }>) => {
          if (cid !== id) return;
          this.off('secure', onSecure);
          this.off('refused', onRefused);
          resolve({ id, event: ev });
        };
        const onSecure = on;
        const onRefused = on;
        this.on('secure', onSecure);
        this.on('refused', onRefused);
      },
    );
    this.#wire(id, tcp);
    await e.ecall('channelConnect', id, policy);
    return outcome;
  }

  async close(): Promise<void> {
    for (const s of this.#conns.values()) s.destroy();
    this.#conns.clear();
    const srv = this.#server;
    this.#server = undefined;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }
}
