import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchChannel, localFloor } from '../../../src/bench/channel.ts';

test('bench channel: bounded runs with real DCAP handshakes and real local attestation, each beside a floor measured in the run', async () => {
  const r = await benchChannel({ seconds: 0.5, handshakes: 8, roundTrips: 20 });
  assert.equal(r.ratls.evidence, 'sgx-dcap-quote-v3');
  assert.equal(r.ratls.tcbStatus, 'UpToDate');
  assert.match(r.ratls.group, /X25519|P-256|prime256v1|secp256r1/i);
  assert.ok(r.ratls.handshakes >= 1 && r.ratls.handshakes <= 8, `bounded by --handshakes: ${r.ratls.handshakes}`);
  assert.ok(r.local.roundTrips >= 1 && r.local.roundTrips <= 20, `bounded by --round-trips: ${r.local.roundTrips}`);
  for (const x of [r.ratls.handshakesPerSec, r.ratls.floorPerSec, r.local.roundTripsPerSec, r.local.floorPerSec])
    assert.ok(Number.isFinite(x) && x > 0, String(x));
  // The floor is a subset of the work: nothing can go faster than it.
  assert.ok(r.ratls.handshakesPerSec < r.ratls.floorPerSec, JSON.stringify(r.ratls));
  assert.ok(r.local.roundTripsPerSec < r.local.floorPerSec, JSON.stringify(r.local));
  // The per-handshake floor is the documented sum of its parts.
  const f = r.ratls.floorUs;
  const sum =
    2 * f.ecdheKeygen +
    2 * f.ecdheDerive +
    f.signCertificateVerify +
    f.verifyCertificateVerify +
    f.verifyQuote +
    2 * f.bindingHash +
    2 * f.finishedHmac;
  assert.ok(Math.abs(sum - f.perHandshake) / f.perHandshake < 0.01, `${sum} vs ${f.perHandshake}`);
  assert.ok(Math.abs(1e6 / f.perHandshake - r.ratls.floorPerSec) / r.ratls.floorPerSec < 0.01);
});

test('bench channel: the local floor adds up its parts; bad bounds are refused', async () => {
  const { perRoundTripUs, parts } = localFloor(20, 3);
  const sum =
    2 * parts.ecdhKeygen +
    2 * parts.ecdhDerive +
    4 * parts.reportCmac +
    2 * parts.transcriptHash +
    4 * parts.reportDataHash +
    2 * parts.sessionHkdf;
  assert.ok(Math.abs(sum - perRoundTripUs) < 1e-6);
  await assert.rejects(benchChannel({ seconds: 0 }), (e: Error & { code?: string }) => e.code === 'ERR_BENCH_ARGUMENT');
  await assert.rejects(
    benchChannel({ handshakes: -1 }),
    (e: Error & { code?: string }) => e.code === 'ERR_BENCH_ARGUMENT',
  );
});
