import { hex } from '../bytes/util.ts';
import type { TdConfig } from './td-image.ts';
import type { Rtmrs } from '../formats/replay-rtmrs.ts';

/** The policy JSON (src/attestation/td-policy.ts) a good TD satisfies: its MRTD, RTMR0–2, DEBUG refused, exact attributes and XFAM, its owner fields. */
export function tdPolicyOf(
  mrTd: Uint8Array,
  config: TdConfig,
  rtmrs: Rtmrs,
): Record<string, string | string[] | boolean> {
  return {
    mrTd: [hex(mrTd)],
    rtmr0: hex(rtmrs[0]),
    rtmr1: hex(rtmrs[1]),
    rtmr2: hex(rtmrs[2]),
    allowDebug: false,
    tdAttributes: hex(config.attributes),
    tdAttributesMask: 'ffffffffffffffff',
    xfam: hex(config.xfam),
    xfamMask: 'ffffffffffffffff',
    mrConfigId: hex(config.mrConfigId),
    mrOwner: hex(config.mrOwner),
  };
}
