import { createPrivateKey, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { fromHex, hex, u32le } from '../../bytes/util.ts';
import { ATTR, attributesBytes, attributesFromBytes, isDebug, type Attributes } from '../../formats/attributes.ts';
import {
  bcdDate,
  mrSignerOf,
  parseSigstruct,
  signSigstruct,
  verifySigstruct,
  SIGSTRUCT_VENDOR,
  type Sigstruct,
} from '../../formats/sigstruct.ts';
import { measureSgxs } from '../../sgx/measure.ts';
import { EXIT, intFlag, InvalidInputError, printJson, say, setExit, UsageError } from '../io.ts';
import { parseInput, readInput } from './measure.ts';

/**
 * `catena sigstruct show FILE` — fields and verdict of a SIGSTRUCT (exit 1 when the signature,
 * Q1/Q2, exponent or header constants do not verify);
 * `catena sigstruct sign …` — build and sign one with a vendor RSA-3072 e=3 key.
 * HEX values are the bytes as stored in the structure (attributes: flags u64 LE ‖ xfrm u64 LE;
 * misc: u32 LE), as Intel's JSON collateral writes attributes.
 */

/** FTX sgxs-sign / Intel SDK defaults: 64-bit mode, x87+SSE; the mask ignores DEBUG and the non-security xfrm bits. */
export const DEFAULT_SIGN_ATTRIBUTES: Attributes = { flags: ATTR.MODE64BIT, xfrm: 0x3n };
export const DEFAULT_SIGN_ATTRIBUTE_MASK: Attributes = { flags: 0xfffffffffffffffdn, xfrm: 0xffffffffffffff1bn };
export const DEFAULT_MISC_SELECT = 0;
export const DEFAULT_MISC_MASK = 0xffffffff;

const u32Hex = (n: number) => hex(u32le(n));

/** The JSON `catena sigstruct show` prints. */
export function describeSigstruct(s: Sigstruct): Record<string, unknown> {
  const v = verifySigstruct(s);
  return {
    valid: v.ok,
    ...(v.ok ? {} : { failures: v.failures }),
    mrsigner: hex(mrSignerOf(s)),
    enclaveHash: hex(s.enclaveHash),
    isvProdId: s.isvProdId,
    isvSvn: s.isvSvn,
    vendor: s.vendor,
    date: (s.date >>> 0).toString(16).padStart(8, '0'),
    debug: isDebug(s.attributes),
    attributes: hex(attributesBytes(s.attributes)),
    attributeMask: hex(attributesBytes(s.attributeMask)),
    miscSelect: u32Hex(s.miscSelect),
    miscMask: u32Hex(s.miscMask),
    isvFamilyId: hex(s.isvFamilyId),
    isvExtProdId: hex(s.isvExtProdId),
    swDefined: s.swDefined,
    exponent: s.exponent,
  };
}

function hexFlag(name: string, v: string, len: number): Uint8Array {
  try {
    return fromHex(v, len, `--${name}`);
  } catch {
    throw new UsageError(`--${name}: expected ${len} bytes as hex (the bytes as stored), got ${v}`);
  }
}
const attrFlag = (name: string, v: string | undefined, dflt: Attributes) =>
  v === undefined ? dflt : attributesFromBytes(hexFlag(name, v, 16));
const miscFlag = (name: string, v: string | undefined, dflt: number) =>
  v === undefined ? dflt : new DataView(hexFlag(name, v, 4).buffer).getUint32(0, true);

function readVendorKey(path: string): KeyObject {
  const pem = readInput(path, 'key');
  let key: KeyObject;
  try {
    key = createPrivateKey(Buffer.from(pem));
  } catch (e) {
    throw new UsageError(`${path}: not a PEM private key (${(e as Error).message})`);
  }
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== 'rsa' || d?.modulusLength !== 3072 || d.publicExponent !== 3n) {
    throw new UsageError(`${path}: a SIGSTRUCT vendor key must be RSA-3072 with public exponent 3`);
  }
  return key;
}

interface SignOptions {
  key: string;
  sgxs?: string;
  enclaveHash?: string;
  isvProdId: string;
  isvSvn: string;
  date: string;
  vendor?: string;
  attributes?: string;
  attributeMask?: string;
  miscSelect?: string;
  miscMask?: string;
  debug?: boolean;
  out: string;
  json?: boolean;
}

export function register(program: Command): void {
  const sig = program.command('sigstruct').description('show, verify and sign SGX SIGSTRUCTs (RSA-3072, e = 3)');

  sig
    .command('show')
    .description('print the fields of a SIGSTRUCT and whether its signature and Q1/Q2 verify (exit 1 if not)')
    .argument('<file>', 'a 1808-byte SIGSTRUCT')
    .option('--json', 'print one JSON document')
    .action((file: string, o: { json?: boolean }) => {
      const bytes = readInput(file, 'SIGSTRUCT');
      let d: Record<string, unknown>;
      try {
        d = describeSigstruct(parseInput(file, 'SIGSTRUCT', () => parseSigstruct(bytes)));
      } catch (e) {
        // A SIGSTRUCT that does not parse is a negative verdict (exit 1) with the reason, like a bad signature.
        if (!(e instanceof InvalidInputError)) throw e;
        d = { valid: false, failures: [e.message] };
        setExit(EXIT.NEGATIVE);
        if (o.json) return printJson(d);
        say(false, `SIGSTRUCT ${file}: INVALID\n  failure: ${e.message}`);
        return;
      }
      if (!d.valid) setExit(EXIT.NEGATIVE);
      if (o.json) return printJson(d);
      say(false, `SIGSTRUCT ${file}: ${d.valid ? 'valid' : 'INVALID'}`);
      for (const f of (d.failures as string[] | undefined) ?? []) say(false, `  failure: ${f}`);
      for (const k of [
        'mrsigner',
        'enclaveHash',
        'isvProdId',
        'isvSvn',
        'vendor',
        'date',
        'debug',
        'attributes',
        'attributeMask',
        'miscSelect',
        'miscMask',
      ]) {
        say(false, `  ${k.padEnd(14)} ${String(d[k])}`);
      }
    });

  sig
    .command('sign')
    .description('build and sign a SIGSTRUCT for an enclave (ENCLAVEHASH from --sgxs or --enclave-hash)')
    .requiredOption('--key <pem>', 'vendor private key, RSA-3072 with e = 3')
    .option('--sgxs <file>', 'measure this SGXS stream for ENCLAVEHASH')
    .option('--enclave-hash <hex>', 'ENCLAVEHASH (MRENCLAVE), 32 bytes hex')
    .requiredOption('--isv-prod-id <n>', 'ISVPRODID (u16)')
    .requiredOption('--isv-svn <n>', 'ISVSVN (u16)')
    .requiredOption('--date <yyyymmdd>', 'DATE, stored as BCD')
    .option('--vendor <n>', 'VENDOR: 0, or 0x8086 for Intel', '0')
    .option('--attributes <hex>', 'ATTRIBUTES, 16 bytes as stored (default flags MODE64BIT, xfrm 0x3)')
    .option('--attribute-mask <hex>', 'ATTRIBUTEMASK, 16 bytes as stored (default fdffffffffffffff1bffffffffffffff)')
    .option('--misc-select <hex>', 'MISCSELECT, 4 bytes as stored (default 00000000)')
    .option('--misc-mask <hex>', 'MISCMASK, 4 bytes as stored (default ffffffff)')
    .option(
      '--debug',
      'set DEBUG in ATTRIBUTES and leave it out of ATTRIBUTEMASK (the enclave may launch in debug mode)',
    )
    .requiredOption('--out <file>', 'where to write the 1808-byte SIGSTRUCT')
    .option('--json', 'print one JSON document')
    .action((o: SignOptions) => {
      if ((o.sgxs === undefined) === (o.enclaveHash === undefined))
        throw new UsageError('give exactly one of --sgxs FILE or --enclave-hash HEX');
      const isvProdId = intFlag('isv-prod-id', o.isvProdId, 0, 0xffff);
      const isvSvn = intFlag('isv-svn', o.isvSvn, 0, 0xffff);
      const vendor = intFlag('vendor', o.vendor, 0, 0xffffffff);
      if (vendor !== SIGSTRUCT_VENDOR.OTHER && vendor !== SIGSTRUCT_VENDOR.INTEL)
        throw new UsageError(`--vendor: EINIT accepts only 0 or 0x8086, got ${o.vendor}`);
      let date: number;
      try {
        date = bcdDate(o.date);
      } catch {
        throw new UsageError(`--date: expected a calendar date YYYYMMDD, got ${o.date}`);
      }
      let attributes = attrFlag('attributes', o.attributes, DEFAULT_SIGN_ATTRIBUTES);
      let attributeMask = attrFlag('attribute-mask', o.attributeMask, DEFAULT_SIGN_ATTRIBUTE_MASK);
      if (o.debug) {
        attributes = { ...attributes, flags: attributes.flags | ATTR.DEBUG };
        attributeMask = { ...attributeMask, flags: attributeMask.flags & ~ATTR.DEBUG };
      }
      const miscSelect = miscFlag('misc-select', o.miscSelect, DEFAULT_MISC_SELECT);
      const miscMask = miscFlag('misc-mask', o.miscMask, DEFAULT_MISC_MASK);
      let enclaveHash: Uint8Array;
      if (o.sgxs !== undefined) {
        const stream = readInput(o.sgxs, 'SGXS stream');
        enclaveHash = parseInput(o.sgxs, 'SGXS stream', () => measureSgxs(stream));
      } else {
        enclaveHash = hexFlag('enclave-hash', o.enclaveHash!, 32);
      }
      const key = readVendorKey(o.key);
      const bytes = signSigstruct(
        {
          vendor,
          date,
          swDefined: 0,
          miscSelect,
          miscMask,
          isvFamilyId: new Uint8Array(16),
          attributes,
          attributeMask,
          enclaveHash,
          isvExtProdId: new Uint8Array(16),
          isvProdId,
          isvSvn,
        },
        key,
      );
      try {
        writeFileSync(o.out, bytes);
      } catch (e) {
        throw new UsageError(`cannot write ${o.out}: ${(e as Error).message}`);
      }
      const result = {
        out: resolve(o.out),
        mrsigner: hex(mrSignerOf(parseSigstruct(bytes))),
        enclaveHash: hex(enclaveHash),
        debug: isDebug(attributes),
      };
      if (o.json) printJson(result);
      say(o.json, `wrote ${o.out}\nMRSIGNER    ${result.mrsigner}\nENCLAVEHASH ${result.enclaveHash}`);
    });
}
