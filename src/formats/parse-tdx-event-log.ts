import { Reader } from '../bytes/cursor.ts';
import { FormatError } from '../errors.ts';
import {
  EV,
  SHA384_SIZE,
  SPEC_ID_SIGNATURE,
  TPM_ALG_SHA384,
  type SpecIdEvent,
  type TdEvent,
  type TdEventLog,
} from './tdx-event-log.ts';

/** Fewer bytes than this after an event cannot start another (index, type, digest count): trailing bytes. */
const MIN_EVENT2_HEADER = 12;
/** An event log of a TD holds thousands of events at most; a larger count is a corrupted length. */
const MAX_DIGESTS = 8;

function fail(message: string): never {
  throw new FormatError(`event log: ${message}`, 'ERR_EVENT_LOG');
}

function readSpecId(r: Reader): SpecIdEvent {
  const mrIndex = r.u32('header.index');
  const type = r.u32('header.event_type');
  if (mrIndex !== 0 || type !== EV.NO_ACTION)
    fail(`the first event is not the Spec ID event (index ${mrIndex}, type 0x${type.toString(16)})`);
  r.bytesOf(20, 'header.sha1_digest');
  const size = r.u32('header.event_size');
  const e = new Reader(r.bytesOf(size, 'header.event'), 'event log Spec ID event');
  const sig = new TextDecoder('latin1').decode(e.bytesOf(16, 'signature'));
  if (sig !== SPEC_ID_SIGNATURE) fail(`Spec ID signature ${JSON.stringify(sig)} is not "Spec ID Event03"`);
  const platformClass = e.u32('platform_class');
  const minor = e.u8('spec_version_minor');
  const major = e.u8('spec_version_major');
  const errata = e.u8('spec_errata');
  const uintnSize = e.u8('uintn_size');
  const n = e.u32('number_of_algorithms');
  // Stryker disable next-line ConditionalExpression: with no algorithms SHA-384 is not declared either: refused below with the same code
  if (n === 0) fail('Spec ID declares no algorithms');
  if (n > MAX_DIGESTS) fail(`Spec ID declares ${n} algorithms`);
  const algorithms: SpecIdEvent['algorithms'] = [];
  for (let i = 0; i < n; i++)
    algorithms.push({ algorithmId: e.u16(`algorithm[${i}].id`), digestSize: e.u16(`algorithm[${i}].size`) });
  const sha384 = algorithms.find((a) => a.algorithmId === TPM_ALG_SHA384);
  if (!sha384 || sha384.digestSize !== SHA384_SIZE) fail('Spec ID does not declare SHA-384 with 48-byte digests');
  const vendorInfo = e.bytesOf(e.u8('vendor_info_size'), 'vendor_info');
  e.end();
  return { platformClass, specVersion: [major, minor, errata], uintnSize, algorithms, vendorInfo };
}

function readEvent(r: Reader, specId: SpecIdEvent, n: number): TdEvent {
  // Stryker disable next-line ArrowFunction: f only names the field a short-input error message reports
  const f = (name: string) => `event[${n}].${name}`;
  const mrIndex = r.u32(f('index'));
  const eventType = r.u32(f('event_type'));
  const count = r.u32(f('digest_count'));
  if (count !== specId.algorithms.length)
    fail(`event ${n} carries ${count} digests, the Spec ID declares ${specId.algorithms.length}`);
  let digest: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const alg = r.u16(f(`digest[${i}].alg`));
    const spec = specId.algorithms.find((a) => a.algorithmId === alg);
    if (!spec) fail(`event ${n} has a digest of algorithm 0x${alg.toString(16)} the Spec ID does not declare`);
    const d = r.bytesOf(spec.digestSize, f(`digest[${i}]`));
    if (alg === TPM_ALG_SHA384) digest = d;
  }
  if (!digest) fail(`event ${n} has no SHA-384 digest`);
  const size = r.u32(f('event_size'));
  const data = r.bytesOf(size, f('event'));
  if (eventType !== EV.NO_ACTION && (mrIndex < 1 || mrIndex > 4))
    fail(`event ${n} extends CC MR index ${mrIndex}; only 1..4 (RTMR0..3) are extended at run time`);
  return { mrIndex, eventType, digest, data };
}

/**
 * Parses a CCEL event log: the Spec ID header event, then TCG_PCR_EVENT2 records to the end.
 * FormatError ERR_SHORT_INPUT for a cut event or a length field past the end, ERR_TRAILING_BYTES for
 * bytes after the last event too few to start one, ERR_EVENT_LOG for bad field values.
 */
export function parseEventLog(bytes: Uint8Array): TdEventLog {
  const r = new Reader(bytes, 'event log');
  const specId = readSpecId(r);
  const events: TdEvent[] = [];
  while (r.remaining > 0) {
    if (r.remaining < MIN_EVENT2_HEADER)
      throw new FormatError(
        `event log: ${r.remaining} trailing bytes after event ${events.length}`,
        'ERR_TRAILING_BYTES',
      );
    events.push(readEvent(r, specId, events.length));
  }
  return { specId, events };
}
