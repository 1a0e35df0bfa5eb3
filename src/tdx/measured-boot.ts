import { sha384 } from '../crypto/sha384.ts';
import { EV, type TdEvent } from '../formats/tdx-event-log.ts';
import type { TrustDomain } from './tdx-module.ts';

/**
 * A TD's measured boot, as TDVF and the guest record it (docs/formats-tdx.md): RTMR0 the firmware
 * configuration (CFV, TD HOB, Secure Boot variables, separator), RTMR1 the boot loader and kernel, RTMR2
 * the kernel command line and initrd, RTMR3 the workloads (container image digests). Each event's digest
 * is SHA-384 of the measured object; its data names what was measured.
 */
export interface BootComponents {
  firmwareConfig?: string;
  kernel?: string;
  cmdline?: string;
  initrd?: string;
  /** Workload image digests measured into RTMR3. */
  workloads?: string[];
}

const enc = (s: string) => new TextEncoder().encode(s);

function event(mrIndex: number, eventType: number, what: string, content: string): TdEvent {
  return { mrIndex, eventType, digest: sha384(enc(content)), data: enc(what) };
}

export function bootEvents(c: BootComponents = {}): TdEvent[] {
  const sep = { mrIndex: 0, eventType: EV.SEPARATOR, digest: sha384(new Uint8Array(4)), data: new Uint8Array(4) };
  return [
    event(1, EV.EFI_PLATFORM_FIRMWARE_BLOB2, 'CFV', c.firmwareConfig ?? 'catena-tdvf-cfv-1.0'),
    event(1, EV.EFI_PLATFORM_FIRMWARE_BLOB2, 'TD HOB', 'td-hob'),
    event(1, EV.EFI_VARIABLE_DRIVER_CONFIG, 'SecureBoot', 'SecureBoot=1'),
    { ...sep, mrIndex: 1 },
    event(2, EV.EFI_BOOT_SERVICES_APPLICATION, 'kernel', c.kernel ?? 'vmlinuz-6.8-catena'),
    { ...sep, mrIndex: 2 },
    event(3, EV.IPL, 'cmdline', c.cmdline ?? 'console=hvc0 root=/dev/vda1 ro'),
    event(3, EV.IPL, 'initrd', c.initrd ?? 'initrd-6.8-catena'),
    ...(c.workloads ?? []).map((w) => event(4, EV.EVENT_TAG, `workload ${w}`, w)),
  ];
}

/** Boots a TD: extends each event into its RTMR (the TD's event log records them). */
export function measuredBoot(td: TrustDomain, c: BootComponents = {}): void {
  for (const e of bootEvents(c)) td.extend(e);
}
