import { fromHex } from '../bytes/util.ts';
import { FormatError } from '../errors.ts';

/** Small strict readers for Intel's collateral JSON (TCB info, enclave identity). Internal to formats/. */
export type Json = Record<string, unknown>;

export function jsonFail(what: string, message: string, code: string): never {
  throw new FormatError(`${what}: ${message}`, code);
}

export function parseJsonObject(text: string, what: string, code: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) /* Stryker disable next-line BlockStatement: an empty catch leaves v undefined, which obj() below refuses with the same code */ {
    jsonFail(what, `not JSON (${(e as Error).message})`, code);
  }
  return obj(v, what, code);
}

export function obj(v: unknown, what: string, code: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) jsonFail(what, 'expected an object', code);
  return v as Json;
}

export function arr(v: unknown, what: string, code: string): unknown[] {
  if (!Array.isArray(v)) jsonFail(what, 'expected an array', code);
  return v;
}

export function str(o: Json, k: string, what: string, code: string): string {
  const v = o[k];
  if (typeof v !== 'string') jsonFail(what, `${k}: expected a string`, code);
  return v;
}

export function uint(o: Json, k: string, what: string, code: string, max = 0xffffffff): number {
  const v = o[k];
  // Number.isInteger is false for anything that is not a number.
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max)
    jsonFail(what, `${k}: expected an integer in [0, ${max}]`, code);
  return v as number;
}

export function hexField(o: Json, k: string, len: number, what: string, code: string): Uint8Array {
  const s = str(o, k, what, code);
  try {
    return fromHex(s, len, `${what}.${k}`);
  } catch {
    jsonFail(what, `${k}: expected ${len} bytes of hex`, code);
  }
}

/** Intel's timestamps: ISO 8601 UTC, `YYYY-MM-DDTHH:MM:SS[.fff]Z`. */
export function dateField(o: Json, k: string, what: string, code: string): Date {
  const s = str(o, k, what, code);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/.test(s))
    jsonFail(what, `${k}: not an ISO 8601 UTC time: ${s}`, code);
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) jsonFail(what, `${k}: invalid time ${s}`, code);
  return d;
}

export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

export function statusField(o: Json, what: string, code: string): TcbStatus {
  const s = str(o, 'tcbStatus', what, code);
  if (!(TCB_STATUSES as readonly string[]).includes(s)) jsonFail(what, `unknown tcbStatus ${s}`, code);
  return s as TcbStatus;
}

export function advisoriesField(o: Json, what: string, code: string): string[] {
  if (o.advisoryIDs === undefined) return [];
  return arr(o.advisoryIDs, `${what}.advisoryIDs`, code).map((a) => {
    if (typeof a !== 'string') jsonFail(what, 'advisoryIDs: expected strings', code);
    return a;
  });
}
