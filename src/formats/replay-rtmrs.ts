import { sha384 } from '../crypto/sha384.ts';
import { EV, rtmrOf, type TdEvent } from './tdx-event-log.ts';

export type Rtmrs = [Uint8Array, Uint8Array, Uint8Array, Uint8Array];

/** RTMR extend as TDG.MR.RTMR.EXTEND does it: RTMR = SHA-384(RTMR ‖ digest). */
export function extendRtmr(rtmr: Uint8Array, digest: Uint8Array): Uint8Array {
  return sha384(rtmr, digest);
}

/** Replays events from all-zero RTMRs (EV_NO_ACTION events are not extended): the RTMRs they give. */
export function replayRtmrs(events: readonly TdEvent[]): Rtmrs {
  const r: Rtmrs = [new Uint8Array(48), new Uint8Array(48), new Uint8Array(48), new Uint8Array(48)];
  for (const e of events) {
    if (e.eventType === EV.NO_ACTION) continue;
    const i = rtmrOf(e.mrIndex);
    r[i] = extendRtmr(r[i], e.digest);
  }
  return r;
}
