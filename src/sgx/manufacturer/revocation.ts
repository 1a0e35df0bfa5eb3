import { wholeSeconds } from './issue-certificate.ts';
import type { RevokedEntry } from './issue-crl.ts';
import type { CrlList } from './types.ts';

/**
 * The manufacturer's revocations: the entries of the Root CA CRL (PCK CAs, TCB Signing) and of the
 * two PCK CRLs, and each CRL's number (it goes up with every change, as a CRL is reissued).
 */
export class Revocations {
  readonly lists: Record<CrlList, RevokedEntry[]> = { root: [], processor: [], platform: [] };
  readonly crlNumbers: Record<CrlList, number> = { root: 1, processor: 1, platform: 1 };

  /** Adds (or re-reasons) a serial on a list, dated `at`; the list's CRL number goes up. */
  add(list: CrlList, serial: string, reason: number, at: Date): void {
    const existing = this.lists[list].find((e) => e.serial === serial);
    if (existing) existing.reason = reason;
    else this.lists[list].push({ serial, reason, date: wholeSeconds(at) });
    this.crlNumbers[list] += 1;
  }

  /** Revoked entries of a CRL (copies). */
  entries(list: CrlList): RevokedEntry[] {
    return this.lists[list].map((e) => ({ ...e }));
  }
}
