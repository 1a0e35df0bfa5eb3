import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { hex } from '../../bytes/util.ts';
import { SgxError } from '../../sgx/errors.ts';
import { printJson, say, UsageError } from '../io.ts';

/**
 * `catena enclave build MODULE.js --config enclave.json --key PEM --out DIR` → DIR/enclave.sgxs (the
 * measurement stream) and DIR/enclave.sig (SIGSTRUCT); `catena enclave keygen --out PEM` → a vendor key.
 * The builder and RSA code are imported when a subcommand runs, so registering costs the CLI nothing.
 */
function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

function readVendorKey(path: string): KeyObject {
  const pem = readText(path, 'key');
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new UsageError(`${path}: not a PEM private key (${(e as Error).message})`);
  }
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== 'rsa' || d?.modulusLength !== 3072 || d.publicExponent !== 3n) {
    throw new UsageError(`${path}: a SIGSTRUCT vendor key must be RSA-3072 with exponent 3`);
  }
  return key;
}

export function register(program: Command): void {
  const enclave = program
    .command('enclave')
    .description('build emulated SGX enclaves (JavaScript module + config → SGXS + SIGSTRUCT)');

  enclave
    .command('build')
    .description('lay a module out into pages, measure it and sign its SIGSTRUCT')
    .argument('<module>', 'the enclave module (JavaScript, ESM)')
    .requiredOption(
      '--config <file>',
      'enclave.json: isvProdId, isvSvn, debug, heapSize, stackSize, tcsCount, ssaFrameSize, miscSelect, attributes (hex), provisionKey',
    )
    .requiredOption('--key <pem>', 'vendor private key, RSA-3072 e=3 (see `catena enclave keygen`)')
    .requiredOption('--out <dir>', 'output directory (enclave.sgxs, enclave.sig)')
    .option('--date <yyyymmdd>', 'SIGSTRUCT date (default: today, UTC)')
    .option('--json', 'print one JSON document')
    .action(
      async (modulePath: string, o: { config: string; key: string; out: string; date?: string; json?: boolean }) => {
        const { buildEnclave, parseEnclaveConfig } = await import('../../sgx/build.ts');
        if (o.date !== undefined && !/^\d{8}$/.test(o.date))
          throw new UsageError(`--date: expected YYYYMMDD, got ${o.date}`);
        const source = readText(modulePath, 'module');
        let config;
        try {
          config = parseEnclaveConfig(JSON.parse(readText(o.config, 'config')));
        } catch (e) {
          if (e instanceof SgxError) throw new UsageError(e.message);
          throw new UsageError(`${o.config}: ${(e as Error).message}`);
        }
        const key = readVendorKey(o.key);
        const image = buildEnclave(source, config, key, o.date ? { date: o.date } : {});
        mkdirSync(o.out, { recursive: true });
        const sgxsPath = join(o.out, 'enclave.sgxs');
        const sigPath = join(o.out, 'enclave.sig');
        writeFileSync(sgxsPath, image.sgxs);
        writeFileSync(sigPath, image.sigstruct);
        const result = {
          mrenclave: hex(image.mrEnclave),
          mrsigner: hex(image.mrSigner),
          sgxs: resolve(sgxsPath),
          sigstruct: resolve(sigPath),
        };
        if (o.json) printJson(result);
        say(o.json, `MRENCLAVE ${result.mrenclave}\nMRSIGNER  ${result.mrsigner}\nwrote ${sgxsPath} and ${sigPath}`);
      },
    );

  enclave
    .command('keygen')
    .description('generate a vendor signing key (RSA-3072, e=3, PKCS#8 PEM, mode 0600)')
    .requiredOption('--out <pem>', 'where to write the private key')
    .option('--json', 'print one JSON document')
    .action(async (o: { out: string; json?: boolean }) => {
      const { generateVendorKey } = await import('../../crypto/rsa3072.ts');
      const key = generateVendorKey();
      try {
        writeFileSync(o.out, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        throw new UsageError(`cannot write ${o.out}: ${(e as Error).message}`);
      }
      const result = { key: resolve(o.out) };
      if (o.json) printJson(result);
      say(o.json, `wrote vendor key ${o.out}`);
    });
}
