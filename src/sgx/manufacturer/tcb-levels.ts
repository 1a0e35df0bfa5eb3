import { argumentError } from './errors.ts';

/**
 * TCB levels as the manufacturer keeps them (one list per FMSPC), and the two operations on them:
 * matching a platform's TCB (Intel's rule: the first level, in descending order, whose 16 SGX
 * components and PCESVN are all ≤ the platform's) and a TCB recovery.
 */
// One list of TCB statuses: the one the TCB info parser accepts.
import { TCB_STATUSES, type TcbStatus } from '../../formats/json-fields.ts';
export { TCB_STATUSES, type TcbStatus };

export interface TcbLevelSpec {
  /** The 16 SGX TCB component SVNs. */
  components: number[];
  pceSvn: number;
  /** ISO 8601 UTC, whole seconds ("2024-03-13T00:00:00Z"). */
  tcbDate: string;
  status: TcbStatus;
  advisoryIds: string[];
}

export interface PlatformTcb {
  components: number[];
  pceSvn: number;
}

/** "2025-01-21T10:45:51Z": Intel's date format (ISO 8601, UTC, no fraction). */
export function isoSeconds(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Midnight UTC of the day, as Intel writes tcbDate. */
export function isoDay(d: Date): string {
  return `${d.toISOString().slice(0, 10)}T00:00:00Z`;
}

export function checkPlatformTcb(t: PlatformTcb, what: string): void {
  if (
    !Array.isArray(t.components) ||
    t.components.length !== 16 ||
    !t.components.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)
  ) {
    throw argumentError(`${what}: components must be 16 integers in [0, 255]`);
  }
  if (!Number.isInteger(t.pceSvn) || t.pceSvn < 0 || t.pceSvn > 0xffff)
    throw argumentError(`${what}: pceSvn must be an integer in [0, 65535]`);
}

export function checkLevels(levels: TcbLevelSpec[]): void {
  if (!Array.isArray(levels) || levels.length === 0) throw argumentError('TCB levels: at least one level is required');
  levels.forEach((l, i) => {
    checkPlatformTcb(l, `TCB level ${i}`);
    if (!(TCB_STATUSES as readonly string[]).includes(l.status))
      throw argumentError(`TCB level ${i}: unknown status ${l.status}`);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(l.tcbDate))
      throw argumentError(`TCB level ${i}: tcbDate must look like 2024-03-13T00:00:00Z`);
    if (!Array.isArray(l.advisoryIds) || !l.advisoryIds.every((a) => typeof a === 'string'))
      throw argumentError(`TCB level ${i}: advisoryIds must be strings`);
  });
}

/** a ≥ b on every component and on PCESVN. */
export function tcbAtLeast(a: PlatformTcb, b: PlatformTcb): boolean {
  return a.pceSvn >= b.pceSvn && a.components.every((c, i) => c >= b.components[i]);
}

/** Intel's TCB level selection: the first level the platform's TCB reaches, or undefined. */
export function matchTcbLevel(levels: readonly TcbLevelSpec[], platform: PlatformTcb): TcbLevelSpec | undefined {
  return levels.find((l) => tcbAtLeast(platform, l));
}

/**
 * The levels a new FMSPC starts with, around the TCB of its first platform (the "current" TCB):
 *   0  current components, current PCESVN                       UpToDate
 *   1  components 1–2 one lower (when above zero), same PCESVN   SWHardeningNeeded           CATENA-SA-00001
 *   2  current components, PCESVN one lower                      OutOfDate                   CATENA-SA-00001, CATENA-SA-00002
 *   3  level 1's components, PCESVN one lower                     OutOfDate                   CATENA-SA-00001, CATENA-SA-00002
 * Levels that would repeat an earlier one (SVNs already 0) are left out. Platforms can therefore be
 * booted at each level to exercise each status.
 */
export function defaultTcbLevels(current: PlatformTcb, now: Date): TcbLevelSpec[] {
  checkPlatformTcb(current, 'current TCB');
  const day = 86_400_000;
  const lowered = current.components.map((c, i) => (i < 2 ? Math.max(c - 1, 0) : c));
  const candidates: TcbLevelSpec[] = [
    {
      components: [...current.components],
      pceSvn: current.pceSvn,
      tcbDate: isoDay(now),
      status: 'UpToDate',
      advisoryIds: [],
    },
    {
      components: lowered,
      pceSvn: current.pceSvn,
      tcbDate: isoDay(new Date(now.getTime() - 90 * day)),
      status: 'SWHardeningNeeded',
      advisoryIds: ['CATENA-SA-00001'],
    },
    {
      components: [...current.components],
      pceSvn: current.pceSvn - 1,
      tcbDate: isoDay(new Date(now.getTime() - 180 * day)),
      status: 'OutOfDate',
      advisoryIds: ['CATENA-SA-00001', 'CATENA-SA-00002'],
    },
    {
      components: [...lowered],
      pceSvn: current.pceSvn - 1,
      tcbDate: isoDay(new Date(now.getTime() - 180 * day)),
      status: 'OutOfDate',
      advisoryIds: ['CATENA-SA-00001', 'CATENA-SA-00002'],
    },
  ];
  const out: TcbLevelSpec[] = [];
  for (const c of candidates) {
    if (c.pceSvn < 0) continue;
    if (out.some((o) => o.pceSvn === c.pceSvn && o.components.every((v, i) => v === c.components[i]))) continue;
    out.push(c);
  }
  return out;
}

export interface TcbRecoveryOptions {
  /** The new UpToDate TCB. Default: the current top level with components 1 and 2 raised by one. */
  upToDate?: PlatformTcb;
  /** The advisory the recovery publishes (added to every level below the new one). Default CATENA-SA-<evaluation number>. */
  advisoryId?: string;
  /** What former UpToDate levels become. Default OutOfDate. */
  downgradeTo?: TcbStatus;
  /** Date of the new level. Default: now. */
  tcbDate?: Date;
}

/**
 * A TCB recovery (Intel's "TCB Recovery" event): a new UpToDate level is published at the top; every
 * earlier level gets the new advisory, and the former UpToDate levels are downgraded (to OutOfDate by
 * default), so platforms that have not moved up to the new TCB are reported below it.
 */
export function recoverTcb(
  levels: readonly TcbLevelSpec[],
  opts: Required<Pick<TcbRecoveryOptions, 'advisoryId' | 'downgradeTo'>> & { upToDate: PlatformTcb; tcbDate: Date },
): TcbLevelSpec[] {
  checkPlatformTcb(opts.upToDate, 'recovery TCB');
  if (opts.downgradeTo === 'UpToDate') throw argumentError('a TCB recovery cannot leave former levels UpToDate');
  const top = levels[0];
  if (top && !tcbAtLeast(opts.upToDate, top))
    throw argumentError('the recovery TCB must be at least the current top level');
  if (top && tcbAtLeast(top, opts.upToDate))
    throw argumentError('the recovery TCB must be higher than the current top level');
  const downgraded = levels.map((l) => ({
    ...l,
    components: [...l.components],
    status: l.status === 'UpToDate' ? opts.downgradeTo : l.status,
    advisoryIds: l.advisoryIds.includes(opts.advisoryId) ? [...l.advisoryIds] : [...l.advisoryIds, opts.advisoryId],
  }));
  const fresh: TcbLevelSpec = {
    components: [...opts.upToDate.components],
    pceSvn: opts.upToDate.pceSvn,
    tcbDate: isoDay(opts.tcbDate),
    status: 'UpToDate',
    advisoryIds: [],
  };
  return [fresh, ...downgraded];
}
