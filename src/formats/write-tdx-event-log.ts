import { Writer } from '../bytes/cursor.ts';
import { abytes } from '../bytes/util.ts';
import { EV, SHA384_SIZE, SPEC_ID_SIGNATURE, TPM_ALG_SHA384, type TdEvent } from './tdx-event-log.ts';

/** The Spec ID header event TDVF writes: platform class 0 (client), spec 2.0 errata 0, UINTN 8 bytes, SHA-384 only. */
function specIdEvent(): Uint8Array {
  const body = new Writer()
    .bytes(new TextEncoder().encode(SPEC_ID_SIGNATURE))
    .u32(0)
    .u8(0)
    .u8(2)
    .u8(0)
    .u8(2)
    .u32(1)
    .u16(TPM_ALG_SHA384)
    .u16(SHA384_SIZE)
    .u8(0)
    .finish();
  return new Writer().u32(0).u32(EV.NO_ACTION).zeros(20).u32(body.length).bytes(body).finish();
}

/** Serialises events (SHA-384 only) after the Spec ID header: the inverse of parseEventLog for such logs. */
export function writeEventLog(events: readonly TdEvent[]): Uint8Array {
  const w = new Writer().bytes(specIdEvent());
  for (const e of events)
    w.u32(e.mrIndex)
      .u32(e.eventType)
      .u32(1)
      .u16(TPM_ALG_SHA384)
      .bytes(abytes(e.digest, SHA384_SIZE, 'event digest'))
      .u32(e.data.length)
      .bytes(e.data);
  return w.finish();
}
