import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { directoryCollateral, verifyQuote, type Appraisal } from '../../../src/attestation/index.ts';
import { variantFixtures, type VariantFixtures } from '../../helpers/variant-fixtures.ts';

/**
 * Time on the emulated good evidence: the accepted appraisal's validity span is exact — accepted at
 * both ends, rejected a millisecond outside each, by a time-dependent check with its code. Guards the
 * CRL, collateral and certificate window comparisons (≤ / <) and the span computed from them.
 */
let fx: VariantFixtures;
before(
  async () => {
    fx = await variantFixtures(['good']);
  },
  { timeout: 300_000 },
);
after(() => fx?.cleanup());

const verify = (at: Date): Promise<Appraisal> =>
  verifyQuote(fx.bytes('good', 'quote.dat'), {
    collateral: directoryCollateral(fx.path('good', 'collateral')),
    at,
    trustedRoots: [fx.bytes('good', 'root.der')],
  });

const TIME_CODES = ['ERR_ROOT_CA_CRL', 'ERR_PCK_CRL', 'ERR_COLLATERAL_EXPIRED', 'ERR_PCK_CHAIN'];

test('the validity span holds at both ends and not a millisecond outside', async () => {
  const a = await verify(fx.at);
  assert.equal(a.verdict, 'accepted', a.error?.message);
  assert.ok(a.validity, 'an accepted appraisal has a validity span');
  const from = new Date(a.validity.from);
  const until = new Date(a.validity.until);
  assert.ok(from <= fx.at && fx.at <= until);
  // Collateral is valid 30 days from issue (an hour before emulation).
  assert.ok(
    until.getTime() - from.getTime() <= 30 * 86_400_000 && until.getTime() - from.getTime() > 29 * 86_400_000,
    `${a.validity.from} .. ${a.validity.until}`,
  );
  for (const at of [from, until]) {
    const b = await verify(at);
    assert.equal(b.verdict, 'accepted', `${at.toISOString()}: ${b.error?.message}`);
    assert.deepEqual(b.validity, a.validity, 'the same span from anywhere inside it');
  }
  for (const at of [new Date(from.getTime() - 1), new Date(until.getTime() + 1)]) {
    const b = await verify(at);
    assert.equal(b.verdict, 'rejected', at.toISOString());
    assert.ok(TIME_CODES.includes(b.error!.code), `${at.toISOString()}: ${b.error!.code}`);
    assert.equal(b.validity, undefined);
  }
  // The Root CA CRL is issued last of the collateral (so the span starts at its thisUpdate), and its
  // check comes first: a millisecond before, it is the one that fails — unless a certificate was made
  // in the same second (X.509 times have no milliseconds), whose earlier check then fails first.
  const early = await verify(new Date(from.getTime() - 1));
  assert.ok(['ERR_ROOT_CA_CRL', 'ERR_PCK_CHAIN'].includes(early.error!.code), early.error?.message);
  assert.match(early.error!.message, /not yet valid|is not valid at/);
  assert.ok(
    early.checks.some((c) => c.name === 'crl.rootCa' && !c.ok && !c.skipped) || early.error!.code === 'ERR_PCK_CHAIN',
    'the root CA CRL is not yet valid a millisecond before the span',
  );
});

test("at the CRLs' boundaries: the first failing check is the root CA CRL, named with ERR_ROOT_CA_CRL", async () => {
  const a = await verify(fx.at);
  const until = new Date(a.validity!.until);
  // A day past the span every piece of collateral has expired: the root CA CRL (the first
  // time-dependent check after the certificates) fails first.
  const late = await verify(new Date(until.getTime() + 86_400_000));
  assert.equal(late.error?.code, 'ERR_ROOT_CA_CRL', late.error?.message);
  const failing = late.checks.filter((c) => !c.ok && !c.skipped).map((c) => c.name);
  for (const n of ['crl.rootCa', 'crl.pck', 'collateral.tcbInfoWindow', 'collateral.qeIdentityWindow'])
    assert.ok(failing.includes(n), `${n} fails too: ${failing.join(', ')}`);
});
