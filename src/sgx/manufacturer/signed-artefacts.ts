import { DAY } from './defaults.ts';
import { wholeSeconds } from './issue-certificate.ts';

interface Cached<T> {
  generation: number;
  issued: number;
  value: T;
}

/**
 * Signed artefacts (TCB info, QE identity, CRLs) are reused until the state they were made from
 * changes (`changed()`) or half their validity has passed (then reissued with fresh dates, as a PCS
 * refreshes collateral before nextUpdate). Bounded: one entry per key (per FMSPC, the QE, each CRL).
 */
export class SignedArtefacts {
  private generation = 0;
  private readonly entries = new Map<string, Cached<unknown>>();
  private readonly clock: () => Date;
  private readonly validityDays: number;

  constructor(clock: () => Date, validityDays: number) {
    this.clock = clock;
    this.validityDays = validityDays;
  }

  changed(): void {
    this.generation += 1;
  }

  /** nextUpdate of an artefact issued at `now`. */
  nextUpdate(now: Date): Date {
    return new Date(now.getTime() + this.validityDays * DAY);
  }

  get<T>(key: string, produce: (now: Date) => T): T {
    const now = wholeSeconds(this.clock());
    const hit = this.entries.get(key) as Cached<T> | undefined;
    const half = (this.validityDays * DAY) / 2;
    if (hit && hit.generation === this.generation && now.getTime() >= hit.issued && now.getTime() - hit.issued < half)
      return hit.value;
    const value = produce(now);
    this.entries.set(key, { generation: this.generation, issued: now.getTime(), value });
    return value;
  }
}
