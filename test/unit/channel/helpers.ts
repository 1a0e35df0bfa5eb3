import type { AddressInfo, Server } from 'node:net';
import {
  createAttestedServer,
  type AttestedServerOptions,
  type AttestedStream,
  type ChannelError,
} from '../../../src/channel/index.ts';

/** An RA-TLS echo server on 127.0.0.1; resolves with its port, the streams it accepted and the refusals it made. */
export async function echoServer(o: Omit<AttestedServerOptions, 'onError'>) {
  const accepted: AttestedStream[] = [];
  const refused: ChannelError[] = [];
  const server: Server = createAttestedServer({ ...o, onError: (e) => refused.push(e) }, (s) => {
    accepted.push(s);
    s.on('error', () => undefined);
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { port, accepted, refused, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Writes `msg` and reads until as many bytes came back (bounded by a timeout). */
export function roundTrip(s: AttestedStream, msg: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const t = setTimeout(() => reject(new Error(`echo timed out (got ${JSON.stringify(got)})`)), timeoutMs);
    const on = (d: Buffer) => {
      got += d.toString();
      if (got.length >= msg.length) {
        clearTimeout(t);
        s.off('data', on);
        resolve(got);
      }
    };
    s.on('data', on);
    s.write(msg);
  });
}

export async function rejectsWith(p: Promise<unknown>, code: string, check?: string): Promise<ChannelError> {
  try {
    await p;
  } catch (e) {
    const err = e as ChannelError;
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    if (check !== undefined)
      assert.equal(err.check, check, `expected check ${check}, got ${err.check}: ${err.message}`);
    return err;
  }
  throw new Error(`expected a refusal with ${code}, but it succeeded`);
}
import assert from 'node:assert/strict';
