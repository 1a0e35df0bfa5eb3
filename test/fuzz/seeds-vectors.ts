import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { directoryCollateral } from '../../src/attestation/collateral/from-directory.ts';
import { collateralToQvlJson } from '../../src/attestation/collateral/from-qvl-json.ts';
import { pemCertificates } from '../../src/attestation/pem.ts';
import { slicePcsBody } from '../../src/formats/pcs-body.ts';
import { certificateExtension, SGX_EXTENSION_OID } from '../../src/formats/pck-extension.ts';
import { parseQuote } from '../../src/formats/quote.ts';
import { REPORT_BODY_SIZE } from '../../src/formats/report.ts';
import { HAVE_VECTORS, VECTORS_DIR } from '../helpers/vectors.ts';
import { addSeed, type Corpus } from './corpus.ts';

/**
 * Seeds from the real Intel files in ../shared/vectors (read in place, never copied). Absent on a
 * fresh clone: the caller gets an empty corpus and a message saying why.
 */
export async function vectorCorpus(): Promise<{ corpus: Corpus; note?: string }> {
  const c: Corpus = { seeds: {} };
  if (!HAVE_VECTORS)
    return { corpus: c, note: `shared vectors not found at ${VECTORS_DIR}: fuzzing with emulated seeds only` };
  const file = (p: string) => new Uint8Array(readFileSync(join(VECTORS_DIR, p)));
  const text = (p: string) => readFileSync(join(VECTORS_DIR, p), 'utf8');
  const has = (p: string) => existsSync(join(VECTORS_DIR, p));

  for (const dir of ['sgx-v3-phala', 'sgx-v3-zkdcap', 'tdx-v4-phala']) {
    if (!has(`${dir}/quote.dat`)) continue;
    const q = file(`${dir}/quote.dat`);
    addSeed(c, 'quote', `vector ${dir}/quote.dat`, q);
    const parsed = parseQuote(q, { allowZeroPadding: true });
    if (parsed.body.kind === 'sgx')
      addSeed(c, 'report', `vector ${dir} enclave report body`, q.slice(48, 48 + REPORT_BODY_SIZE));
    addSeed(c, 'report', `vector ${dir} QE report body`, parsed.signatureData.qe.qeReportRaw.slice());
    const chain = pemCertificates(Buffer.from(parsed.signatureData.qe.certification.data).toString('latin1'));
    chain.forEach((der, i) => addSeed(c, 'pck-certificate', `vector ${dir} PCK chain [${i}]`, der));
    const ext = chain[0] && certificateExtension(chain[0], SGX_EXTENSION_OID);
    if (ext) addSeed(c, 'pck-extension', `vector ${dir} PCK leaf SGX extension`, ext);
  }
  // The times the vector tests verify at (test/vectors/dcap-quote.test.ts): inside every validity window.
  const at: Record<string, string> = {
    'sgx-v3-phala': '2025-07-01T00:00:00Z',
    'tdx-v4-phala': new Date(1751328000 * 1000).toISOString(),
    'sgx-v3-zkdcap': new Date(1737458686 * 1000).toISOString(),
  };
  const verifyWith = (dir: string, collateral: Record<string, string>) => {
    const q = `vector ${dir}/quote.dat`;
    const ctx = { quoteHex: Buffer.from(file(`${dir}/quote.dat`)).toString('hex'), collateral, at: at[dir] };
    c.verify = { ...c.verify, [q]: ctx, [`vector ${dir} collateral`]: ctx };
    addSeed(c, 'quote-verify', q, file(`${dir}/quote.dat`));
    addSeed(c, 'collateral-verify', `vector ${dir} collateral`, collateral);
  };
  for (const dir of ['sgx-v3-phala', 'tdx-v4-phala']) {
    if (!has(`${dir}/collateral.json`)) continue;
    const j = JSON.parse(text(`${dir}/collateral.json`)) as Record<string, string>;
    addSeed(c, 'collateral-json', `vector ${dir}/collateral.json`, j);
    if (has(`${dir}/quote.dat`)) verifyWith(dir, j);
    addSeed(c, 'tcb-info', `vector ${dir} tcb_info`, j.tcb_info);
    addSeed(c, 'qe-identity', `vector ${dir} qe_identity`, j.qe_identity);
    addSeed(
      c,
      'pcs-body',
      `vector ${dir} tcb_info as a PCS body`,
      `{"tcbInfo":${j.tcb_info},"signature":"${j.tcb_info_signature}"}`,
    );
    addSeed(
      c,
      'pcs-body',
      `vector ${dir} qe_identity as a PCS body`,
      `{"enclaveIdentity":${j.qe_identity},"signature":"${j.qe_identity_signature}"}`,
    );
    for (const k of ['root_ca_crl', 'pck_crl'])
      if (/^[0-9a-f]+$/i.test(j[k] ?? ''))
        addSeed(c, 'crl', `vector ${dir} ${k}`, new Uint8Array(Buffer.from(j[k], 'hex')));
    for (const k of ['tcb_info_issuer_chain', 'pck_crl_issuer_chain']) {
      if (typeof j[k] === 'string')
        pemCertificates(j[k]).forEach((der, i) => addSeed(c, 'pck-certificate', `vector ${dir} ${k} [${i}]`, der));
    }
  }
  const z = 'sgx-v3-zkdcap';
  if (has(`${z}/quote.dat`) && has(`${z}/tcb_info.json`))
    verifyWith(
      z,
      collateralToQvlJson(
        await directoryCollateral(join(VECTORS_DIR, z)).get(
          { fmspc: '', pckCa: 'processor', teeType: 'sgx' },
          new Date(at[z]),
        ),
      ),
    );
  for (const [n, key, target] of [
    ['tcb_info.json', 'tcbInfo', 'tcb-info'],
    ['qe_identity.json', 'enclaveIdentity', 'qe-identity'],
  ] as const) {
    if (!has(`${z}/${n}`)) continue;
    addSeed(c, 'pcs-body', `vector ${z}/${n}`, text(`${z}/${n}`));
    addSeed(c, target, `vector ${z}/${n} (signed object)`, slicePcsBody(text(`${z}/${n}`), key).text);
  }
  for (const n of ['root_ca_crl.der', 'pck_processor_crl.der'])
    if (has(`${z}/${n}`)) addSeed(c, 'crl', `vector ${z}/${n}`, file(`${z}/${n}`));
  if (has(`${z}/tcb_signing_cert.pem`))
    pemCertificates(text(`${z}/tcb_signing_cert.pem`)).forEach((der, i) =>
      addSeed(c, 'pck-certificate', `vector ${z}/tcb_signing_cert.pem [${i}]`, der),
    );
  if (has('intel_sgx_root_ca.der'))
    addSeed(c, 'pck-certificate', 'vector intel_sgx_root_ca.der', file('intel_sgx_root_ca.der'));
  for (const n of ['sig1.sigstruct.bin', 'test_enclave.sig'])
    if (has(`sigstruct/${n}`)) addSeed(c, 'sigstruct', `vector sigstruct/${n}`, file(`sigstruct/${n}`));
  if (has('sigstruct/test_enclave.sgxs'))
    addSeed(c, 'sgxs', 'vector sigstruct/test_enclave.sgxs', file('sigstruct/test_enclave.sgxs'));
  return { corpus: c };
}
