import { generateP256 } from '../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../src/crypto/rsa3072.ts';
import { pemCertificates } from '../../src/attestation/pem.ts';
import { Chain } from '../../src/chain/chain.ts';
import { createMockAttestationRoot, MockQuoteIssuer } from '../../src/channel/index.ts';
import { CborMap, CborTag, encodeCbor } from '../../src/formats/cbor.ts';
import { BundleWriter } from '../../src/chain/write-bundle-v2.ts';
import { createRatlsCertificate, diceClaims, encodeDiceEvidence } from '../../src/channel/ratls-cert.ts';
import { CotBuilder, dcapRemoteVerifier, EmulatedWorld } from '../../src/cot/index.ts';
import { KEY_NAME, KEY_POLICY, reportKeyRequest, serializeKeyRequest } from '../../src/formats/keyrequest.ts';
import { certificateExtension, SGX_EXTENSION_OID } from '../../src/formats/pck-extension.ts';
import { parseQuote, serializeQuote, TEE_TYPE_TDX, type QuoteFields } from '../../src/formats/quote.ts';
import { parseReport } from '../../src/formats/report.ts';
import { encodeSgxExtension } from '../../src/sgx/manufacturer/sgx-extension.ts';
import { serializeSecinfo } from '../../src/formats/secinfo.ts';
import { serializeSecs } from '../../src/formats/secs.ts';
import { sealData } from '../../src/sgx/seal.ts';
import { assembleTdReport, macedPart, writeTdInfo, writeTeeTcbInfo } from '../../src/formats/tdreport.ts';
import { writeEventLog } from '../../src/formats/write-tdx-event-log.ts';
import { bootEvents } from '../../src/tdx/measured-boot.ts';
import { addSeed, type Corpus } from './corpus.ts';
import { FUZZ_SEAL_AAD, FUZZ_SEALING_ENCLAVE } from './targets.ts';

/**
 * Seeds made in-process by Catena's own emulator: a world of two platforms, an element enclave image
 * (SGXS, SIGSTRUCT), its TARGETINFO, REPORT and quote, KEYREQUESTs, the manufacturer's collateral and
 * CRLs (with revoked entries), a proof bundle with local, remote links and a revocation, RA-TLS
 * certificates and their CBOR. Takes a few seconds; every run makes fresh keys (see corpus.ts).
 */
export async function emulatedCorpus(): Promise<Corpus> {
  const c: Corpus = { seeds: {} };
  const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
  try {
    const coll = await world.collateralFor();
    const vendorKey = generateVendorKey();
    const image = world.elementImage(vendorKey);
    const debugImage = world.elementImage(vendorKey, 7, 2, true);
    addSeed(c, 'sigstruct', 'emulated element SIGSTRUCT', image.sigstruct);
    addSeed(c, 'sigstruct', 'emulated debug element SIGSTRUCT', debugImage.sigstruct);
    addSeed(c, 'sgxs', 'emulated element SGXS', image.sgxs);

    // Bundle: first (remote), local, remote on the second platform, a revoked local element.
    const owner = generateP256();
    const now = new Date();
    const chain = Chain.create({
      name: 'fuzz',
      root: world.root,
      emulatedRoot: true,
      policy: { byDepth: { '2': { allowDebug: false } } },
      owner,
      remote: dcapRemoteVerifier(world.root),
      now,
    });
    const b = new CotBuilder(chain, world, world.root);
    const e0 = await world.loadElement(0, image);
    const first = await b.appendFirst(e0);
    const e1 = await world.loadElement(0, image);
    const second = await b.appendLocal(first.id, e1);
    await b.appendRemote(second.id, await world.loadElement(1, image));
    chain.revoke((await b.appendLocal(first.id, await world.loadElement(0, image))).id, 'fuzz seed', new Date());
    addSeed(
      c,
      'bundle',
      'emulated bundle (4 elements, local and remote links, a revocation)',
      JSON.parse(JSON.stringify(chain.toBundle())),
    );
    const v2parts: Uint8Array[] = [];
    chain.writeBundle(new BundleWriter((part) => v2parts.push(part.slice())));
    addSeed(c, 'bundle-v2', 'emulated bundle v2 (the same chain)', new Uint8Array(Buffer.concat(v2parts)));

    // TARGETINFO, REPORT, quote.
    const qeTi = world.qeTargetInfo(e0);
    addSeed(c, 'targetinfo', 'emulated QE TARGETINFO', qeTi);
    addSeed(c, 'targetinfo', 'emulated element TARGETINFO', e1.targetInfo());
    const report = await e0.evidence(qeTi, 'fuzz-chain', '11'.repeat(32));
    addSeed(c, 'report', 'emulated element REPORT for the QE', report);
    addSeed(c, 'report', 'emulated REPORT body', report.slice(0, 384));
    const localReport = await e0.evidence(e1.targetInfo(), 'fuzz-chain', '22'.repeat(32));
    addSeed(c, 'report', 'emulated element REPORT for an element', localReport);
    const quote = await world.quote(e0, report);
    addSeed(c, 'quote', 'emulated v3 quote', quote);
    addSeed(c, 'quote-verify', 'emulated v3 quote', quote);
    const at = new Date(Date.now() + 60_000).toISOString();
    const rootHex = Buffer.from(world.root).toString('hex');
    c.bundle = { rootHex, at };
    const ctx = { quoteHex: Buffer.from(quote).toString('hex'), collateral: { ...coll }, at, rootHex };
    c.verify = { 'emulated v3 quote': ctx, 'emulated collateral.json': ctx };
    const q = parseQuote(quote);
    const v4: QuoteFields = { ...q, header: { ...q.header, version: 4, teeType: 0 } };
    addSeed(c, 'quote', 'emulated v4 SGX quote (re-serialised v3, signature not valid)', serializeQuote(v4));
    const td = new Uint8Array(584).map((_, i) => (i * 7) & 0xff);
    const tdReport = {
      teeTcbSvn: td.slice(0, 16),
      mrSeam: td.slice(16, 64),
      mrSignerSeam: td.slice(64, 112),
      seamAttributes: td.slice(112, 120),
      tdAttributes: td.slice(120, 128),
      xfam: td.slice(128, 136),
      mrTd: td.slice(136, 184),
      mrConfigId: td.slice(184, 232),
      mrOwner: td.slice(232, 280),
      mrOwnerConfig: td.slice(280, 328),
      rtmr: [td.slice(328, 376), td.slice(376, 424), td.slice(424, 472), td.slice(472, 520)] as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ],
      reportData: td.slice(520, 584),
    };
    addSeed(
      c,
      'quote',
      'emulated v4 TDX quote (synthetic TD report, signature not valid)',
      serializeQuote({
        ...q,
        header: { ...q.header, version: 4, teeType: TEE_TYPE_TDX },
        body: { kind: 'td10', report: tdReport },
      }),
    );

    // KEYREQUEST.
    addSeed(c, 'keyrequest', 'REPORT key request for the emulated REPORT', reportKeyRequest(parseReport(report).keyId));
    addSeed(
      c,
      'keyrequest',
      'SEAL key request (MRSIGNER policy)',
      serializeKeyRequest({
        keyName: KEY_NAME.SEAL,
        keyPolicy: KEY_POLICY.MRSIGNER | KEY_POLICY.NOISVPRODID,
        isvSvn: 1,
        cpuSvn: new Uint8Array(16).fill(2),
        attributeMask: { flags: 0xff0000000000000bn, xfrm: 0n },
        keyId: new Uint8Array(32).fill(9),
        miscMask: 0xf0000000,
        configSvn: 0,
      }),
    );

    // PCK chain certificates and the SGX extension.
    const pck = pemCertificates(Buffer.from(q.signatureData.qe.certification.data).toString('latin1'));
    pck.forEach((der, i) => addSeed(c, 'pck-certificate', `emulated PCK chain [${i}]`, der));
    const ext = certificateExtension(pck[0], SGX_EXTENSION_OID);
    if (ext) addSeed(c, 'pck-extension', 'emulated PCK leaf SGX extension', ext);
    addSeed(
      c,
      'pck-extension',
      'emulated Platform CA-style SGX extension (PlatformInstanceID, Configuration)',
      encodeSgxExtension({
        ppid: new Uint8Array(16).fill(1),
        tcbComponents: Array.from({ length: 16 }, (_, i) => (i * 17) & 0xff),
        pceSvn: 13,
        cpuSvn: new Uint8Array(16).fill(3),
        pceId: 0,
        fmspc: new Uint8Array([0, 0x90, 0x6e, 0xa1, 0, 0]),
        sgxType: 1,
        platformInstanceId: new Uint8Array(16).fill(4),
        configuration: { dynamicPlatform: true, cachedKeys: false, smtEnabled: true },
      }),
    );

    // Collateral: JSON, TCB info, QE identity, PCS bodies, CRLs (then with revoked entries).
    addSeed(c, 'collateral-json', 'emulated collateral.json', { ...coll });
    addSeed(c, 'collateral-verify', 'emulated collateral.json', { ...coll });
    addSeed(c, 'tcb-info', 'emulated TCB info', coll.tcb_info);
    addSeed(c, 'qe-identity', 'emulated QE identity', coll.qe_identity);
    addSeed(
      c,
      'pcs-body',
      'emulated TCB info PCS body',
      `{"tcbInfo":${coll.tcb_info},"signature":"${coll.tcb_info_signature}"}`,
    );
    addSeed(
      c,
      'pcs-body',
      'emulated QE identity PCS body',
      `{"enclaveIdentity":${coll.qe_identity},"signature":"${coll.qe_identity_signature}"}`,
    );
    for (const k of ['tcb_info_issuer_chain', 'pck_crl_issuer_chain'])
      pemCertificates(coll[k] ?? '').forEach((der, i) => addSeed(c, 'pck-certificate', `emulated ${k} [${i}]`, der));
    addSeed(c, 'crl', 'emulated root CA CRL', new Uint8Array(Buffer.from(coll.root_ca_crl, 'hex')));
    addSeed(c, 'crl', 'emulated PCK CRL', new Uint8Array(Buffer.from(coll.pck_crl, 'hex')));
    world.manufacturer.revokePck(pck[0]);
    world.manufacturer.revokeCa('platform');
    addSeed(c, 'crl', 'emulated PCK CRL with a revoked PCK', await world.manufacturer.pckCrl('processor'));
    addSeed(c, 'crl', 'emulated root CA CRL with a revoked CA', await world.manufacturer.rootCaCrl());

    // RA-TLS certificates: one carrying the emulated DCAP quote, one with mock evidence; their CBOR.
    const dcapCert = await createRatlsCertificate({ issue: async () => quote });
    addSeed(c, 'ratls-cert', 'RA-TLS certificate with the emulated DCAP quote', dcapCert.certificate);
    const mockRoot = await createMockAttestationRoot();
    const mockCert = await createRatlsCertificate(
      new MockQuoteIssuer(mockRoot.privateKey, { mrEnclave: new Uint8Array(32).fill(0xaa), isvProdId: 2, isvSvn: 1 }),
    );
    addSeed(c, 'ratls-cert', 'RA-TLS certificate with mock evidence', mockCert.certificate);
    addSeed(c, 'mock-evidence', 'mock evidence of the RA-TLS certificate', mockCert.evidence);

    // A TD's event log (measured boot with a workload) and a TDREPORT (TDX 1.5 layout, zero MAC).
    addSeed(
      c,
      'tdx-event-log',
      'TD measured boot, one workload',
      writeEventLog(bootEvents({ workloads: ['sha256:00'] })),
    );
    addSeed(c, 'tdx-event-log', 'TD event log, header only', writeEventLog([]));
    const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill);
    const tcbInfo = writeTeeTcbInfo({
      valid: z(8, 0xff),
      teeTcbSvn: z(16, 2),
      mrSeam: z(48, 1),
      mrSignerSeam: z(48),
      attributes: z(8),
      teeTcbSvn2: z(16, 2),
    });
    const tdInfo = writeTdInfo({
      attributes: Uint8Array.of(0, 0, 0, 0x10, 0, 0, 0, 0),
      xfam: Uint8Array.of(0xe7, 0x02, 0, 0, 0, 0, 0, 0),
      mrTd: z(48, 3),
      mrConfigId: z(48),
      mrOwner: z(48),
      mrOwnerConfig: z(48),
      rtmr: [z(48, 4), z(48, 5), z(48, 6), z(48, 7)],
      servTdHash: z(48),
    });
    addSeed(
      c,
      'tdreport',
      'TDREPORT (TDX 1.5)',
      assembleTdReport(macedPart(1, z(16, 2), tcbInfo, tdInfo, z(64, 9)), z(32), tcbInfo, tdInfo),
    );

    // SECINFO, SECS, sealed blobs.
    addSeed(c, 'secinfo', 'SECINFO REG R|W', serializeSecinfo({ flags: 0x203n }));
    addSeed(c, 'secinfo', 'SECINFO TCS', serializeSecinfo({ flags: 0x100n }));
    const rb = parseReport(report).body;
    addSeed(
      c,
      'secs',
      'SECS of the emulated element',
      serializeSecs({
        size: 0x100000n,
        baseAddr: 0x7f0000000000n,
        ssaFrameSize: 1,
        miscSelect: rb.miscSelect,
        attributes: rb.attributes,
        mrEnclave: rb.mrEnclave,
        mrSigner: rb.mrSigner,
        configId: rb.configId,
        isvProdId: rb.isvProdId,
        isvSvn: rb.isvSvn,
        configSvn: rb.configSvn,
      }),
    );
    addSeed(
      c,
      'sealed-data',
      'sealed (MRSIGNER) with AAD',
      await sealData(FUZZ_SEALING_ENCLAVE, new TextEncoder().encode('a sealed secret'), 'mrsigner', FUZZ_SEAL_AAD),
    );
    addSeed(
      c,
      'sealed-data',
      'sealed (MRENCLAVE) with AAD, empty plaintext',
      await sealData(FUZZ_SEALING_ENCLAVE, new Uint8Array(0), 'mrenclave', FUZZ_SEAL_AAD),
    );
    addSeed(c, 'cbor', 'DICE tagged evidence (DCAP quote)', encodeDiceEvidence(quote, diceClaims(dcapCert.spki)));
    addSeed(c, 'cbor', 'DICE tagged evidence (mock)', encodeDiceEvidence(mockCert.evidence, diceClaims(mockCert.spki)));
    addSeed(c, 'cbor', 'DICE claims map', diceClaims(dcapCert.spki));
    addSeed(
      c,
      'cbor',
      'nested items',
      encodeCbor(
        new CborMap([
          [1, [2, 'three', new Uint8Array([4])]],
          ['k', new CborTag(24, new CborMap([[0x10000, 0x100000000]]))],
        ]),
      ),
    );
  } finally {
    await world.close();
  }
  return c;
}
