import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { equal, hex } from '../../../src/bytes/util.ts';
import { parseQuote } from '../../../src/formats/quote.ts';
import { parseReport, REPORT_SIZE } from '../../../src/formats/report.ts';
import {
  collateralFromQvlJson,
  verifyQuote,
  GramineAttester,
  hardwareQuoteIssuer,
  AttesterError,
  type FileOps,
} from '../../../src/attestation/index.ts';
import type { LocalAttester } from '../../../src/attestation/local/protocol.ts';
import { DcapQuoteValidator } from '../../../src/channel/dcap-validator.ts';
import type { QuoteIssuer } from '../../../src/channel/types.ts';
import { skipWithoutVectors, vector, vectorText } from '../../helpers/vectors.ts';

/**
 * The Gramine attester against (1) an in-memory imitation of Gramine's /dev/attestation that reacts to
 * writes as Gramine does and serves the REAL phala quote from the shared vectors, and (2) a real
 * temporary directory of pre-filled plain files (the node:fs default path).
 */
const AT = new Date('2025-07-01T00:00:00Z');
const REPORT_DATA_OFFSET = 48 + 320; // quote header ‖ report body.report_data

function codeOf(code: string) {
  return (e: unknown) => e instanceof AttesterError && e.code === code;
}

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
}

/**
 * Gramine's pseudo-files, imitated: user_report_data / target_info keep the last write (exact sizes,
 * else EINVAL, as Gramine's save callbacks do); `quote` is the vector quote with REPORTDATA set to the
 * last user_report_data (byte-identical to the vector when the written data is the vector's own —
 * anything else has a signature that no longer verifies); `report` is the vector quote's report body
 * with the written REPORTDATA. Every operation yields to the event loop so unlocked callers interleave.
 */
function gramineImitation(vectorQuote: Uint8Array, opts: { type?: string; staleQuote?: boolean } = {}) {
  const log: string[] = [];
  const state: Record<string, Uint8Array | undefined> = {
    attestation_type: new TextEncoder().encode(opts.type ?? 'dcap'),
    my_target_info: new Uint8Array(512).fill(7),
  };
  const tick = () => new Promise<void>((r) => setImmediate(r));
  const files: FileOps = {
    async readFile(path) {
      await tick();
      const name = basename(path);
      log.push(`read ${name}`);
      if (name === 'quote') {
        const urd = state.user_report_data;
        if (!urd) throw Object.assign(new Error('EACCES: no user_report_data yet'), { code: 'EACCES' });
        const q = vectorQuote.slice();
        if (!opts.staleQuote) q.set(urd, REPORT_DATA_OFFSET);
        return q;
      }
      if (name === 'report') {
        if (!state.user_report_data || !state.target_info) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
        const r = new Uint8Array(REPORT_SIZE);
        r.set(vectorQuote.subarray(48, 48 + 384));
        r.set(state.user_report_data, 320);
        return r;
      }
      const v = state[name];
      if (!v) throw enoent(path);
      return v.slice();
    },
    async writeFile(path, data) {
      await tick();
      const name = basename(path);
      log.push(`write ${name}`);
      const size = { user_report_data: 64, target_info: 512 }[name];
      if (size === undefined) throw Object.assign(new Error(`EACCES: ${name} is read-only`), { code: 'EACCES' });
      if (data.length !== size) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
      state[name] = data.slice();
    },
  };
  return { files, log, state };
}

test(
  'imitated Gramine: the quote out of the hardware backend is the real one and verifies (ConfigurationAndSWHardeningNeeded)',
  { skip: skipWithoutVectors },
  async () => {
    const vq = vector('sgx-v3-phala/quote.dat');
    const g = gramineImitation(vq);
    const att = await GramineAttester.open({ dir: '/dev/attestation', files: g.files });
    assert.equal(att.type(), 'dcap');
    const reportData = vq.slice(REPORT_DATA_OFFSET, REPORT_DATA_OFFSET + 64); // "Hello, world!" + zeros
    assert.equal(new TextDecoder().decode(reportData.subarray(0, 13)), 'Hello, world!');

    const quote = await att.quote(reportData);
    assert.deepEqual(
      g.log.slice(-2),
      ['write user_report_data', 'read quote'],
      'user_report_data written before the quote is read',
    );
    assert.ok(equal(quote, vq));
    const collateral = collateralFromQvlJson(JSON.parse(vectorText('sgx-v3-phala/collateral.json')));
    const a = await verifyQuote(quote, {
      collateral,
      at: AT,
      policy: { acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] },
    });
    assert.equal(a.verdict, 'accepted', JSON.stringify(a.error));
    assert.equal(a.tcbStatus, 'ConfigurationAndSWHardeningNeeded');
    assert.deepEqual([...a.advisoryIds].sort(), ['INTEL-SA-00289', 'INTEL-SA-00615']);

    // Through the channel's shape: the adapter is a QuoteIssuer, and the channel's DCAP validator accepts it.
    const issuer: QuoteIssuer = hardwareQuoteIssuer(att);
    const evidence = await issuer.issue(reportData);
    const v = await new DcapQuoteValidator({
      collateral,
      acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'],
    }).validate(evidence, reportData, AT);
    assert.ok(v.ok, JSON.stringify(v));

    // Other REPORTDATA: the imitation can only patch the bytes, and the signature then fails — the fake forges nothing.
    const other = new Uint8Array(64).fill(0x42);
    const patched = await att.quote(other);
    const pq = parseQuote(patched);
    assert.ok(pq.body.kind === 'sgx' && equal(pq.body.report.reportData, other));
    const b = await verifyQuote(patched, {
      collateral,
      at: AT,
      policy: { acceptedTcbStatuses: ['ConfigurationAndSWHardeningNeeded'] },
    });
    assert.equal(b.verdict, 'rejected');
    assert.equal(b.error?.code, 'ERR_QUOTE_SIGNATURE', 'REPORTDATA is signed by the attestation key');
  },
);

test(
  'imitated Gramine: a quote that does not carry the written REPORTDATA is refused',
  { skip: skipWithoutVectors },
  async () => {
    const g = gramineImitation(vector('sgx-v3-phala/quote.dat'), { staleQuote: true });
    const att = await GramineAttester.open({ files: g.files });
    await assert.rejects(att.quote(new Uint8Array(64).fill(1)), codeOf('ERR_ATTESTER_REPORT_DATA'));
  },
);

test(
  'imitated Gramine: concurrent quote/ereport calls are serialised (each gets its own REPORTDATA)',
  { skip: skipWithoutVectors },
  async () => {
    const g = gramineImitation(vector('sgx-v3-phala/quote.dat'));
    const att = await GramineAttester.open({ files: g.files });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 64, maxLength: 64 })), {
          minLength: 2,
          maxLength: 6,
        }),
        async (calls) => {
          const ti = new Uint8Array(512).fill(3);
          const out = await Promise.all(calls.map(([isQuote, rd]) => (isQuote ? att.quote(rd) : att.ereport(ti, rd))));
          out.forEach((bytes, i) => {
            const [isQuote, rd] = calls[i];
            const got = isQuote
              ? bytes.subarray(REPORT_DATA_OFFSET, REPORT_DATA_OFFSET + 64)
              : parseReport(bytes).body.reportData;
            assert.equal(hex(got), hex(rd));
          });
        },
      ),
      { numRuns: 20 },
    );
    // The file traffic is strictly write…read per operation: no write lands between another call's write and read.
    const ops = g.log.filter((l) => l !== 'read attestation_type' && l !== 'read my_target_info');
    for (let i = 0; i < ops.length;) {
      if (ops[i] === 'write target_info') {
        assert.deepEqual(ops.slice(i, i + 3), ['write target_info', 'write user_report_data', 'read report']);
        i += 3;
      } else {
        assert.deepEqual(ops.slice(i, i + 2), ['write user_report_data', 'read quote']);
        i += 2;
      }
    }
  },
);

test(
  'imitated Gramine: ereport writes target_info then user_report_data and returns the 432-byte REPORT; selfReport targets itself',
  { skip: skipWithoutVectors },
  async () => {
    const vq = vector('sgx-v3-phala/quote.dat');
    const g = gramineImitation(vq);
    const att = await GramineAttester.open({ files: g.files });
    const ti = new Uint8Array(512).fill(9);
    const rd = new Uint8Array(64).fill(5);
    const report = await att.ereport(ti, rd);
    assert.equal(report.length, 432);
    assert.ok(equal(g.state.target_info!, ti));
    assert.ok(equal(parseReport(report).body.reportData, rd));
    const body = await att.selfReport();
    assert.ok(equal(g.state.target_info!, att.selfTargetInfo()));
    assert.equal(hex(body.mrEnclave), '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb');
  },
);

test('Gramine offers no EGETKEY: the attester is not a LocalAttester (it cannot verify REPORT MACs)', async () => {
  const g = gramineImitation(new Uint8Array(0));
  const att = await GramineAttester.open({ files: g.files });
  assert.equal('egetkey' in att, false);
  const needsLocalAttester = (a: LocalAttester) => a;
  // @ts-expect-error — no egetkey: tsc (npm test) fails here if the attester ever claims to be a full LocalAttester
  assert.throws(() => needsLocalAttester(att).egetkey(new Uint8Array(512)), TypeError);
  const partial: Pick<LocalAttester, 'selfTargetInfo' | 'ereport'> = att;
  assert.equal(partial.selfTargetInfo().length, 512);
});

// ---- a real temporary directory of plain files (the node:fs default) ----

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'catena-gramine-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fakeDir(name: string, files: Record<string, Uint8Array | string>): Promise<string> {
  const d = join(dir, name);
  await mkdir(join(d, 'keys'), { recursive: true });
  for (const [f, v] of Object.entries(files)) await writeFile(join(d, f), v);
  return d;
}

test('real directory: attestation_type and my_target_info are read; a missing directory or file is ERR_ATTESTER_UNAVAILABLE', async () => {
  const ti = new Uint8Array(512).map((_, i) => i & 0xff);
  const d = await fakeDir('ok', { attestation_type: 'dcap\n', my_target_info: ti });
  const att = await GramineAttester.open({ dir: d });
  assert.equal(att.type(), 'dcap');
  assert.ok(equal(att.selfTargetInfo(), ti));
  att.selfTargetInfo()[0] = 0xff; // a copy: the cached TARGETINFO stays
  assert.ok(equal(att.selfTargetInfo(), ti));

  await assert.rejects(GramineAttester.open({ dir: join(dir, 'nothing-here') }), codeOf('ERR_ATTESTER_UNAVAILABLE'));
  const noTi = await fakeDir('no-ti', { attestation_type: 'dcap' });
  await assert.rejects(
    GramineAttester.open({ dir: noTi }),
    (e: unknown) => codeOf('ERR_ATTESTER_UNAVAILABLE')(e) && /my_target_info/.test((e as Error).message),
  );
  // Seal keys Gramine has not exposed (an older Gramine): unavailable, not a crash.
  await assert.rejects(att.sealKey('mrsigner'), codeOf('ERR_ATTESTER_UNAVAILABLE'));
});

test('real directory: size refusals (my_target_info, report, seal keys) and argument refusals before anything is written', async () => {
  for (const n of [0, 511, 513]) {
    const d = await fakeDir(`ti-${n}`, { attestation_type: 'dcap', my_target_info: new Uint8Array(n) });
    await assert.rejects(
      GramineAttester.open({ dir: d }),
      codeOf('ERR_ATTESTER_LENGTH'),
      `my_target_info of ${n} bytes`,
    );
  }
  const d = await fakeDir('sizes', {
    attestation_type: 'dcap',
    my_target_info: new Uint8Array(512),
    report: new Uint8Array(431),
    'keys/_sgx_mrenclave': new Uint8Array(16).fill(0xaa),
    'keys/_sgx_mrsigner': new Uint8Array(17),
  });
  const att = await GramineAttester.open({ dir: d });
  const ti = new Uint8Array(512).fill(1);
  const rd = new Uint8Array(64).fill(2);
  await assert.rejects(att.ereport(ti, rd), codeOf('ERR_ATTESTER_LENGTH'));
  // Plain files keep what the attester wrote: exactly the TARGETINFO and REPORTDATA given.
  assert.ok(equal(new Uint8Array(await readFile(join(d, 'target_info'))), ti));
  assert.ok(equal(new Uint8Array(await readFile(join(d, 'user_report_data'))), rd));
  assert.ok(equal(await att.sealKey('mrenclave'), new Uint8Array(16).fill(0xaa)));
  await assert.rejects(att.sealKey('mrsigner'), codeOf('ERR_ATTESTER_LENGTH'));
  // @ts-expect-error — only the two policies Gramine names
  await assert.rejects(att.sealKey('report'), codeOf('ERR_ATTESTER_ARGUMENT'));

  const before = await readFile(join(d, 'user_report_data'));
  assert.throws(() => att.ereport(new Uint8Array(511), rd), codeOf('ERR_ATTESTER_ARGUMENT'));
  assert.throws(() => att.ereport(ti, new Uint8Array(63)), codeOf('ERR_ATTESTER_ARGUMENT'));
  assert.throws(() => att.quote(new Uint8Array(65)), codeOf('ERR_ATTESTER_ARGUMENT'));
  assert.ok(
    equal(new Uint8Array(await readFile(join(d, 'user_report_data'))), new Uint8Array(before)),
    'nothing written on a refused argument',
  );
});

test('real directory: a quote needs attestation_type dcap; unknown types are refused at open', async () => {
  for (const t of ['none', 'epid']) {
    const d = await fakeDir(`type-${t}`, { attestation_type: t, my_target_info: new Uint8Array(512) });
    const att = await GramineAttester.open({ dir: d });
    assert.equal(att.type(), t);
    await assert.rejects(att.quote(new Uint8Array(64)), codeOf('ERR_ATTESTER_TYPE'));
  }
  for (const t of ['', 'DCAP-ish', 'sgx']) {
    const d = await fakeDir(`bad-type-${t || 'empty'}`, { attestation_type: t, my_target_info: new Uint8Array(512) });
    await assert.rejects(GramineAttester.open({ dir: d }), codeOf('ERR_ATTESTER_TYPE'), `type ${JSON.stringify(t)}`);
  }
});

test(
  'real directory: a pre-filled quote file is read after user_report_data is written; bad quotes are named',
  { skip: skipWithoutVectors },
  async () => {
    const vq = vector('sgx-v3-phala/quote.dat');
    const rd = vq.slice(REPORT_DATA_OFFSET, REPORT_DATA_OFFSET + 64);
    const padded = new Uint8Array(vq.length + 100);
    padded.set(vq);
    const d = await fakeDir('quote', { attestation_type: 'dcap', my_target_info: new Uint8Array(512), quote: padded });
    const att = await GramineAttester.open({ dir: d });
    const q = await att.quote(rd);
    assert.ok(equal(q, vq), 'zero padding after the signature data is cut off');
    assert.ok(equal(new Uint8Array(await readFile(join(d, 'user_report_data'))), rd));
    await assert.rejects(att.quote(new Uint8Array(64)), codeOf('ERR_ATTESTER_REPORT_DATA'));

    await writeFile(join(d, 'quote'), vq.subarray(0, 1000));
    await assert.rejects(att.quote(rd), codeOf('ERR_ATTESTER_QUOTE_FORMAT'));
    await rm(join(d, 'quote'));
    await assert.rejects(att.quote(rd), codeOf('ERR_ATTESTER_UNAVAILABLE'));
  },
);

// ---- arguments, attestation_type text, I/O failures, the REPORT read back ----

/** File operations over a map of names (relative to the dir) that record every path asked for. */
function mapFiles(content: Record<string, Uint8Array | string>, fail: { read?: unknown; write?: unknown } = {}) {
  const paths: string[] = [];
  const files: FileOps = {
    async readFile(path) {
      paths.push(path);
      const name = Object.keys(content).find((n) => path.endsWith(`/${n}`));
      if (name === undefined) {
        if ('read' in fail) throw fail.read;
        throw enoent(path);
      }
      const v = content[name];
      return typeof v === 'string' ? new TextEncoder().encode(v) : v.slice();
    },
    async writeFile(path, data) {
      paths.push(path);
      if ('write' in fail) throw fail.write;
      const name = Object.keys(content).find((n) => path.endsWith(`/${n}`)) ?? basename(path);
      content[name] = data.slice();
    },
  };
  return { files, paths };
}

test('the default directory is Gramine’s /dev/attestation', async () => {
  const { files, paths } = mapFiles({ attestation_type: 'none', my_target_info: new Uint8Array(512) });
  const att = await GramineAttester.open({ files });
  assert.equal(att.dir, '/dev/attestation');
  assert.deepEqual(paths, ['/dev/attestation/attestation_type', '/dev/attestation/my_target_info']);
});

test('arguments: not a Uint8Array, or the wrong size, is refused before anything is written; the refusal names the argument', async () => {
  const { files, paths } = mapFiles({ attestation_type: 'dcap', my_target_info: new Uint8Array(512) });
  const att = await GramineAttester.open({ dir: '/g', files });
  const n = paths.length;
  const ti = new Uint8Array(512);
  const rd = new Uint8Array(64);
  const named = (arg: string) => (e: unknown) =>
    codeOf('ERR_ATTESTER_ARGUMENT')(e) && (e as Error).message.startsWith(`${arg}:`);
  // Array-likes of the right length are not bytes.
  assert.throws(() => att.ereport(Array.from(ti) as unknown as Uint8Array, rd), named('targetInfo'));
  assert.throws(() => att.ereport(ti, Array.from(rd) as unknown as Uint8Array), named('reportData'));
  assert.throws(() => att.quote(Array.from(rd) as unknown as Uint8Array), named('reportData'));
  assert.throws(() => att.ereport(new Uint8Array(511), rd), named('targetInfo'));
  assert.throws(() => att.ereport(ti, new Uint8Array(65)), named('reportData'));
  assert.throws(() => att.quote(new Uint8Array(63)), named('reportData'));
  assert.equal(paths.length, n, 'no file touched');
});

test('attestation_type that is not UTF-8, or long, is ERR_ATTESTER_TYPE; the message quotes at most 32 characters of it', async () => {
  const bad = mapFiles({ attestation_type: new Uint8Array([0xff, 0xfe, 0x64]), my_target_info: new Uint8Array(512) });
  await assert.rejects(GramineAttester.open({ dir: '/g', files: bad.files }), codeOf('ERR_ATTESTER_TYPE'));
  const long = mapFiles({ attestation_type: 'x'.repeat(1000), my_target_info: new Uint8Array(512) });
  await assert.rejects(
    GramineAttester.open({ dir: '/g', files: long.files }),
    (e: unknown) =>
      codeOf('ERR_ATTESTER_TYPE')(e) &&
      (e as Error).message.includes(JSON.stringify('x'.repeat(32))) &&
      !(e as Error).message.includes('x'.repeat(33)),
  );
});

test('I/O failures: ENOTDIR is unavailable, anything else ERR_ATTESTER_IO naming the verb; the cause is kept', async () => {
  // A path through a plain file: ENOTDIR from the real file system.
  const plain = join(dir, 'plain-file');
  await writeFile(plain, 'x');
  await assert.rejects(GramineAttester.open({ dir: plain }), (e: unknown) => {
    assert.ok(codeOf('ERR_ATTESTER_UNAVAILABLE')(e), String(e));
    assert.equal(((e as Error).cause as NodeJS.ErrnoException).code, 'ENOTDIR');
    return true;
  });
  const eio = Object.assign(new Error('device busy'), { code: 'EIO' });
  const r = mapFiles({ attestation_type: 'dcap', my_target_info: new Uint8Array(512) }, { read: eio });
  const att = await GramineAttester.open({ dir: '/g', files: r.files });
  await assert.rejects(att.sealKey('mrenclave'), (e: unknown) => {
    assert.ok(codeOf('ERR_ATTESTER_IO')(e), String(e));
    assert.equal((e as Error).message, 'keys/_sgx_mrenclave: read failed: device busy');
    assert.equal((e as Error).cause, eio);
    return true;
  });
  const w = mapFiles({ attestation_type: 'dcap', my_target_info: new Uint8Array(512) }, { write: eio });
  const attW = await GramineAttester.open({ dir: '/g', files: w.files });
  await assert.rejects(attW.quote(new Uint8Array(64)), (e: unknown) => {
    assert.ok(codeOf('ERR_ATTESTER_IO')(e), String(e));
    assert.equal((e as Error).message, 'user_report_data: write failed: device busy');
    assert.equal((e as Error).cause, eio);
    return true;
  });
  // Something thrown that is not an Error at all (undefined, a string): still ERR_ATTESTER_IO.
  for (const thrown of [undefined, 'refused']) {
    const u = mapFiles({ attestation_type: 'dcap', my_target_info: new Uint8Array(512) }, { read: thrown });
    const attU = await GramineAttester.open({ dir: '/g', files: u.files });
    await assert.rejects(attU.sealKey('mrsigner'), (e: unknown) => {
      assert.ok(codeOf('ERR_ATTESTER_IO')(e), String(e));
      assert.equal((e as Error).message, `keys/_sgx_mrsigner: read failed: ${String(thrown)}`);
      return true;
    });
  }
  // Unavailable keeps its cause too.
  const missing = mapFiles({ attestation_type: 'dcap' });
  await assert.rejects(GramineAttester.open({ dir: '/g', files: missing.files }), (e: unknown) => {
    assert.ok(codeOf('ERR_ATTESTER_UNAVAILABLE')(e), String(e));
    assert.equal(((e as Error).cause as NodeJS.ErrnoException).code, 'ENOENT');
    return true;
  });
});

test('ereport: a REPORT read back that does not carry the REPORTDATA written is refused', async () => {
  const rd = new Uint8Array(64).fill(2);
  const stale = new Uint8Array(432);
  stale.set(new Uint8Array(64).fill(1), 320); // REPORTDATA at offset 320 of the REPORT body
  const s = mapFiles({ attestation_type: 'none', my_target_info: new Uint8Array(512), report: stale });
  const att = await GramineAttester.open({ dir: '/g', files: s.files });
  await assert.rejects(att.ereport(new Uint8Array(512), rd), codeOf('ERR_ATTESTER_REPORT_DATA'));
  const fresh = stale.slice();
  fresh.set(rd, 320);
  const f = mapFiles({ attestation_type: 'none', my_target_info: new Uint8Array(512), report: fresh });
  const attF = await GramineAttester.open({ dir: '/g', files: f.files });
  assert.ok(equal(await attF.ereport(new Uint8Array(512), rd), fresh), 'the matching REPORT is returned as read');
});

test(
  'quote: a TDX quote read back is not an SGX enclave quote; an unparsable one keeps the parser error as its cause',
  { skip: skipWithoutVectors },
  async () => {
    const tdx = vector('tdx-v4-phala/quote.dat');
    const t = mapFiles({ attestation_type: 'dcap', my_target_info: new Uint8Array(512), quote: tdx });
    const att = await GramineAttester.open({ dir: '/g', files: t.files });
    await assert.rejects(att.quote(new Uint8Array(64)), codeOf('ERR_ATTESTER_QUOTE_FORMAT'));
    const b = mapFiles({ attestation_type: 'dcap', my_target_info: new Uint8Array(512), quote: new Uint8Array(100) });
    const attB = await GramineAttester.open({ dir: '/g', files: b.files });
    await assert.rejects(attB.quote(new Uint8Array(64)), (e: unknown) => {
      assert.ok(codeOf('ERR_ATTESTER_QUOTE_FORMAT')(e), String(e));
      assert.ok((e as Error).cause instanceof Error, 'the parser error is the cause');
      assert.equal((e as Error).message, `quote: ${((e as Error).cause as Error).message}`);
      return true;
    });
  },
);
