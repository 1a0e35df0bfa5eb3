import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateP256 } from '../../../src/crypto/ecdsa.ts';
import { Chain } from '../../../src/chain/chain.ts';
import { checkBundleShape } from '../../../src/chain/bundle-shape.ts';
import { parseChainPolicy } from '../../../src/chain/parse-policy.ts';
import { policyProblem } from '../../../src/chain/policy-shape.ts';
import { alwaysFailRemoteVerifier } from '../../../src/chain/remote-verifier.ts';

const refused = (e: unknown) =>
  (e as { code?: string; check?: string }).code === 'ERR_CHAIN_POLICY' && (e as { check?: string }).check === 'policy';
const signer = 'ab'.repeat(32);

test('byDepth keys must be depths: 1, 2, … in decimal; anything else is ERR_CHAIN_POLICY at parse time', () => {
  for (const k of ['1', '2', '12', '1000000'])
    assert.deepEqual(
      parseChainPolicy({ byDepth: { [k]: { allowDebug: true } } }),
      { byDepth: { [k]: { allowDebug: true } } },
      k,
    );
  for (const k of ['0', '01', '-1', '+1', '1.5', '1e3', ' 1', '1 ', '', 'abc', 'depth1', '١']) {
    assert.throws(() => parseChainPolicy({ byDepth: { [k]: {} } }), refused, JSON.stringify(k));
  }
});

test('every policy field is checked, nested overrides too; unknown fields and unsafe integers are refused', () => {
  const good = {
    identities: [{ mrSigner: signer, isvProdId: 1, minIsvSvn: 2 }],
    acceptedTcbStatuses: ['UpToDate'],
    evidenceMaxAgeSeconds: 600,
    linkTypes: ['local'],
    maxDepth: 4,
    byDepth: { '2': { linkTypes: ['remote'] } },
  };
  assert.deepEqual(parseChainPolicy(good), good);
  const bad: unknown[] = [
    null,
    [],
    'policy',
    { nonsense: 1 },
    { maxDepth: 2 ** 53 },
    { maxDepth: -1 },
    { evidenceMaxAgeSeconds: 1.5 },
    { linkTypes: ['sideways'] },
    { identities: [{ mrSigner: 'AB'.repeat(32) }] },
    { identities: [{ mrSigner: signer, extra: true }] },
    { byDepth: [] },
    { byDepth: { '1': { byDepth: {} } } },
    { byDepth: { '1': { maxDepth: '3' } } },
    { byDepth: { '1': { unknown: 1 } } },
  ];
  for (const p of bad) assert.throws(() => parseChainPolicy(p), refused, JSON.stringify(p));
});

test('Chain.create refuses a bad policy before anything is signed', () => {
  const make = (policy: unknown) =>
    Chain.create({
      name: 'p',
      root: new Uint8Array(1),
      emulatedRoot: true,
      policy: policy as never,
      owner: generateP256(),
      remote: alwaysFailRemoteVerifier,
      now: new Date(),
    });
  assert.throws(() => make({ byDepth: { '0': {} } }), refused);
  assert.equal(make({ byDepth: { '3': { maxDepth: 5 } } }).header.policy.byDepth?.['3']?.maxDepth, 5);
});

test('what parse accepts, the proof bundle check accepts: a stored policy cannot break verification (property)', () => {
  const overrides = fc.record({ allowDebug: fc.boolean(), maxDepth: fc.nat(20) }, { requiredKeys: [] });
  const policy = fc.record(
    {
      maxDepth: fc.oneof(fc.nat(20), fc.integer()),
      byDepth: fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.nat(50).map(String)), overrides, { maxKeys: 4 }),
    },
    { requiredKeys: [] },
  );
  let accepted = 0;
  fc.assert(
    fc.property(policy, (p) => {
      let parsed;
      try {
        parsed = parseChainPolicy(p);
      } catch (e) {
        assert.ok(refused(e), String(e));
        return;
      }
      accepted++;
      assert.equal(policyProblem(parsed, { strict: false }), undefined);
      const bundle = {
        format: 'catena-proof-bundle',
        version: 1,
        chain: {
          version: 1,
          id: 'c',
          name: 'n',
          createdAt: 't',
          rootSha256: '00'.repeat(32),
          emulatedRoot: true,
          ownerKey: '00'.repeat(64),
          policy: parsed,
          signature: '00'.repeat(64),
        },
        elements: [],
        links: [],
        revocations: [],
        collateral: {},
      };
      assert.deepEqual(checkBundleShape(bundle), { ok: true });
    }),
    { numRuns: 300 },
  );
  assert.ok(accepted > 20, `${accepted} accepted policies: the property was exercised`);
});

test('reactions: known event kinds to non-empty lists of known actions, top level only; anything else is ERR_CHAIN_POLICY', () => {
  const good = {
    reactions: {
      'tcb-downgrade': ['reattest', 'migrate', 'quarantine'],
      'agent-lost': ['migrate'],
      revoked: ['revoke'],
    },
  };
  assert.deepEqual(parseChainPolicy(good), good);
  for (const bad of [
    { reactions: [] },
    { reactions: { 'tcb-upgrade': ['notify'] } },
    { reactions: { revoked: [] } },
    { reactions: { revoked: 'revoke' } },
    { reactions: { revoked: ['reboot'] } },
    { reactions: { revoked: [1] } },
    { reactions: { revoked: Array(11).fill('notify') } },
    { byDepth: { '1': { reactions: { revoked: ['revoke'] } } } },
  ])
    assert.throws(() => parseChainPolicy(bad), refused, JSON.stringify(bad));
  assert.match(policyProblem({ reactions: { revoked: ['reboot'] } }, { strict: true })!, /"reboot" is not an action/);
});
