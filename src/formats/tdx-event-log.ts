/**
 * The TD's measured-boot event log: the TCG crypto-agile format (TCG PC Client Platform Firmware
 * Profile, TCG_PCR_EVENT2) as TDVF writes it into the CCEL ACPI table (UEFI 2.10 EFI_CC_EVENT), with
 * SHA-384 digests. The index of each event is the CC measurement-register index: 0 = MRTD, 1..4 =
 * RTMR0..3. The layout, byte for byte, is in docs/formats-tdx.md.
 */
export const TPM_ALG_SHA384 = 0x000c;
export const SHA384_SIZE = 48;
export const SPEC_ID_SIGNATURE = 'Spec ID Event03\0';

/** TCG event types the emulated boot records. */
export const EV = {
  NO_ACTION: 0x00000003,
  SEPARATOR: 0x00000004,
  EVENT_TAG: 0x00000006,
  IPL: 0x0000000d,
  EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EFI_PLATFORM_FIRMWARE_BLOB2: 0x8000000a,
} as const;

/** One measured event: which register, the event type, its SHA-384 digest and the event data. */
export interface TdEvent {
  /** CC MR index: 1..4 = RTMR0..3. */
  mrIndex: number;
  eventType: number;
  digest: Uint8Array; // 48
  data: Uint8Array;
}

/** The header event's Spec ID fields that matter here. */
export interface SpecIdEvent {
  platformClass: number;
  specVersion: [major: number, minor: number, errata: number];
  uintnSize: number;
  algorithms: Array<{ algorithmId: number; digestSize: number }>;
  vendorInfo: Uint8Array;
}

export interface TdEventLog {
  specId: SpecIdEvent;
  events: TdEvent[];
}

/** RTMR index (0..3) of an event's CC MR index. */
export function rtmrOf(mrIndex: number): number {
  return mrIndex - 1;
}
