/**
 * The shape of a chain policy (src/chain/policy-shape.ts) field by field: each bad value refused with
 * exactly its message, strict (a new policy, parseChainPolicy) and lenient (a policy read from a bundle),
 * each edge accepted; a field of another element kind refused with ERR_CHAIN_POLICY_KIND. No chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChainPolicy } from '../../../src/chain/parse-policy.ts';
import { policyKindProblem, policyProblem } from '../../../src/chain/policy-shape.ts';

const h = (n: number, c = 'ab') => c.repeat(n);

// [policy, strict message, lenient message (default: the strict one)]; 'ok': accepted.
const CASES: Array<[unknown, string, string?]> = [
  [null, 'policy is not an object'],
  [[], 'policy is not an object'],
  [{}, 'ok'],
  [{ identities: {} }, 'policy.identities must be a list'],
  [{ identities: [] }, 'ok'],
  [{ identities: [7] }, 'policy.identities[0] is not an object'],
  [
    { identities: [{}, { mrEnclave: 'ab' }] },
    'policy.identities[1].mrEnclave must be a list of 32-byte lowercase hex values',
  ],
  [
    { identities: [{ mrEnclave: [h(32), h(31)] }] },
    'policy.identities[0].mrEnclave must be a list of 32-byte lowercase hex values',
  ],
  [
    { identities: [{ mrEnclave: [h(32), 'zz'.repeat(32)] }] },
    'policy.identities[0].mrEnclave must be a list of 32-byte lowercase hex values',
  ],
  [{ identities: [{ mrEnclave: [h(32)] }] }, 'ok'],
  [{ identities: [{ mrSigner: h(32, 'AB') }] }, 'policy.identities[0].mrSigner must be 32 bytes of lowercase hex'],
  [{ identities: [{ mrSigner: 'a'.repeat(64) }] }, 'ok'],
  [{ identities: [{ mrSigner: 'abc'.repeat(21) + 'a' }] }, 'ok'],
  [{ identities: [{ mrSigner: ['a'.repeat(64)] }] }, 'policy.identities[0].mrSigner must be 32 bytes of lowercase hex'],
  [{ identities: [{ isvProdId: -1 }] }, 'policy.identities[0].isvProdId must be a non-negative integer'],
  [{ identities: [{ isvProdId: 0 }] }, 'ok'],
  [{ identities: [{ minIsvSvn: 1.5 }] }, 'policy.identities[0].minIsvSvn must be a non-negative integer'],
  [{ identities: [{ minIsvSvn: '1' }] }, 'policy.identities[0].minIsvSvn must be a non-negative integer'],
  [{ identities: [{ allowDebug: 1 }] }, 'policy.identities[0].allowDebug must be a boolean'],
  [{ identities: [{ allowDebug: false }] }, 'ok'],
  [{ identities: [{ other: 1 }] }, 'policy.identities[0].other is not a policy field', 'ok'],
  [{ acceptedTcbStatuses: 'UpToDate' }, 'policy.acceptedTcbStatuses must be a list of strings'],
  [{ acceptedTcbStatuses: ['UpToDate', 1] }, 'policy.acceptedTcbStatuses must be a list of strings'],
  [{ acceptedTcbStatuses: [] }, 'ok'],
  [{ acceptedAdvisories: [null] }, 'policy.acceptedAdvisories must be a list of strings'],
  [{ allowDebug: 'yes' }, 'policy.allowDebug must be a boolean'],
  [{ evidenceMaxAgeSeconds: -1 }, 'policy.evidenceMaxAgeSeconds must be a non-negative integer'],
  [{ evidenceMaxAgeSeconds: 0 }, 'ok'],
  [{ linkTypes: 'local' }, "policy.linkTypes must list 'local', 'remote' and/or 'measured'"],
  [{ linkTypes: ['local', 'other'] }, "policy.linkTypes must list 'local', 'remote' and/or 'measured'"],
  [{ linkTypes: ['local', 'remote', 'measured'] }, 'ok'],
  [{ tdx: [] }, 'policy.tdx must be an object'],
  [{ tdx: {} }, 'ok'],
  [{ tdx: { mrTd: h(48) } }, 'policy.tdx.mrTd must be a list of 48-byte lowercase hex values'],
  [{ tdx: { mrTd: [h(48), h(47)] } }, 'policy.tdx.mrTd must be a list of 48-byte lowercase hex values'],
  [{ tdx: { eventDigests: [h(32)] } }, 'policy.tdx.eventDigests must be a list of 48-byte lowercase hex values'],
  [{ tdx: { mrTd: [h(48)], eventDigests: [] } }, 'ok'],
  [{ tdx: { rtmr1: h(47) } }, 'policy.tdx.rtmr1 must be 48 bytes of lowercase hex'],
  [{ tdx: { xfamMask: h(8, 'AB') } }, 'policy.tdx.xfamMask must be 8 bytes of lowercase hex'],
  [{ tdx: { xfam: h(8), rtmr0: h(48) } }, 'ok'],
  [{ tdx: { allowServiceTd: 'no' } }, 'policy.tdx.allowServiceTd must be a boolean'],
  [{ tdx: { allowDebug: 0 } }, 'policy.tdx.allowDebug must be a boolean'],
  [{ tdx: { allowDebug: true, allowServiceTd: false } }, 'ok'],
  [{ tdx: { other: 1 } }, 'policy.tdx.other is not a policy field', 'ok'],
  [{ workloads: 'x' }, 'policy.workloads must be an object'],
  [{ workloads: {} }, 'ok'],
  [{ workloads: { imageDigests: [] } }, 'policy.workloads.imageDigests must be a non-empty list of strings'],
  [{ workloads: { imageDigests: 'sha256:aa' } }, 'policy.workloads.imageDigests must be a non-empty list of strings'],
  [
    { workloads: { imageDigests: ['sha256:aa', 2] } },
    'policy.workloads.imageDigests must be a non-empty list of strings',
  ],
  [{ workloads: { imageDigests: ['sha256:aa'] } }, 'ok'],
  [{ workloads: { other: 1 } }, 'policy.workloads.other is not a policy field', 'ok'],
  [{ maxDepth: 2 ** 53 }, 'policy.maxDepth must be a non-negative integer'],
  [{ byDepth: [] }, 'policy.byDepth must be an object keyed by depth'],
  [{ byDepth: { '1': { byDepth: {} } } }, 'policy.byDepth.1.byDepth: overrides do not nest'],
  [{ byDepth: { '1': { tdx: [] } } }, 'policy.byDepth.1.tdx must be an object'],
  [{ byDepth: { '1': {}, '2': { other: 1 } } }, 'policy.byDepth.2.other is not a policy field', 'ok'],
  [
    { byDepth: { '1': { reactions: {} } } },
    'policy.byDepth.1.reactions: reactions are set for the whole chain, not by depth',
  ],
  [{ reactions: [] }, 'policy.reactions must be an object keyed by event kind'],
  [
    { reactions: { revoked: ['notify'], other: ['notify'] } },
    'policy.reactions.other is not an event kind (tcb-downgrade, tcb-predicted-downgrade, revoked, evidence-stale, collateral-stale, agent-lost)',
  ],
  [{ reactions: { revoked: [] } }, 'policy.reactions.revoked must be a non-empty list of actions'],
  [{ reactions: { revoked: 'notify' } }, 'policy.reactions.revoked must be a non-empty list of actions'],
  [{ reactions: { revoked: Array(10).fill('notify') } }, 'ok'],
  [
    { reactions: { revoked: Array(11).fill('notify') } },
    'policy.reactions.revoked must be a non-empty list of actions',
  ],
  [
    { reactions: { revoked: ['notify', 'panic'] } },
    'policy.reactions.revoked: "panic" is not an action (notify, reattest, quarantine, migrate, revoke)',
  ],
  [
    { reactions: { revoked: [1] } },
    'policy.reactions.revoked: 1 is not an action (notify, reattest, quarantine, migrate, revoke)',
  ],
  [{ other: 1 }, 'policy.other is not a policy field', 'ok'],
  // Every documented field, strict.
  [{ acceptedAdvisories: [], acceptedTcbStatuses: ['UpToDate'], allowDebug: false, maxDepth: 0 }, 'ok'],
  [
    {
      tdx: {
        mrTd: [h(48)],
        rtmr0: h(48),
        rtmr1: h(48),
        rtmr2: h(48),
        eventDigests: [h(48)],
        allowDebug: false,
        tdAttributes: h(8),
        tdAttributesMask: h(8),
        xfam: h(8),
        xfamMask: h(8),
        mrConfigId: h(48),
        mrOwner: h(48),
        mrOwnerConfig: h(48),
        allowServiceTd: true,
      },
    },
    'ok',
  ],
  // A section that is well formed does not end the check.
  [{ tdx: {}, maxDepth: -1 }, 'policy.maxDepth must be a non-negative integer'],
  [{ workloads: {}, maxDepth: -1 }, 'policy.maxDepth must be a non-negative integer'],
  [{ reactions: { revoked: ['notify'] }, other: 1 }, 'policy.other is not a policy field', 'ok'],
];

test('policyProblem: each field, strict and lenient', () => {
  for (const [p, strict, lenient = strict] of CASES) {
    const at = JSON.stringify(p);
    assert.equal(policyProblem(p, { strict: true }), strict === 'ok' ? undefined : strict, `strict ${at}`);
    assert.equal(policyProblem(p, { strict: false }), lenient === 'ok' ? undefined : lenient, `lenient ${at}`);
  }
});

test('policyKindProblem: a field of another element kind, where it is set, naming both kinds', () => {
  const KIND: Array<[unknown, string | undefined]> = [
    [null, undefined],
    [
      {
        identities: [{ mrSigner: h(32), allowDebug: true }],
        tdx: { mrTd: [], allowDebug: true },
        workloads: { imageDigests: ['x'] },
      },
      undefined,
    ],
    [{ mrEnclave: [] }, 'policy.mrEnclave is a field of sgx-enclave elements: set it in policy.identities[]'],
    [{ isvProdId: 1 }, 'policy.isvProdId is a field of sgx-enclave elements: set it in policy.identities[]'],
    [{ rtmr0: h(48) }, 'policy.rtmr0 is a field of tdx-td elements: set it in policy.tdx'],
    [{ imageDigests: ['x'] }, 'policy.imageDigests is a field of td-workload elements: set it in policy.workloads'],
    [{ allowDebug: true, maxDepth: 1 }, undefined],
    // allowDebug belongs to no one kind: in workloads it is an unknown field (policyProblem), not another kind's.
    [{ workloads: { allowDebug: true } }, undefined],
    [
      { identities: [{}, { mrTd: [] }] },
      'policy.identities[1].mrTd is a field of tdx-td elements; policy.identities[1] sets the checks of sgx-enclave elements',
    ],
    [{ identities: 'x' }, undefined],
    [
      { tdx: { minIsvSvn: 1 } },
      'policy.tdx.minIsvSvn is a field of sgx-enclave elements; policy.tdx sets the checks of tdx-td elements',
    ],
    [
      { tdx: { imageDigests: [] } },
      'policy.tdx.imageDigests is a field of td-workload elements; policy.tdx sets the checks of tdx-td elements',
    ],
    [
      { workloads: { xfam: h(8) } },
      'policy.workloads.xfam is a field of tdx-td elements; policy.workloads sets the checks of td-workload elements',
    ],
    [
      { byDepth: { '2': { tdx: { mrSigner: h(32) } } } },
      'policy.byDepth.2.tdx.mrSigner is a field of sgx-enclave elements; policy.byDepth.2.tdx sets the checks of tdx-td elements',
    ],
    [
      { byDepth: { '2': {}, '3': { mrTd: [] } } },
      'policy.byDepth.3.mrTd is a field of tdx-td elements: set it in policy.byDepth.3.tdx',
    ],
    // Overrides do not nest: a byDepth inside one is not searched (policyProblem refuses it).
    [{ byDepth: { '2': { byDepth: { '3': { mrTd: [] } } } } }, undefined],
  ];
  for (const [p, problem] of KIND) assert.equal(policyKindProblem(p), problem, JSON.stringify(p));
  assert.throws(
    () => parseChainPolicy({ tdx: { mrEnclave: [] } }),
    (e: { code?: string; check?: string; message?: string }) =>
      e.code === 'ERR_CHAIN_POLICY_KIND' && e.check === 'policy-kind' && e.message!.startsWith('policy.tdx.mrEnclave '),
  );
});

test('policyKindProblem: a field of no element kind (unknown, or allowDebug) is no kind problem, wherever it is', () => {
  for (const p of [
    { tdx: { future: 1 } },
    { workloads: { future: 1, allowDebug: true } },
    { identities: [{ future: 1 }] },
    { byDepth: { 2: { tdx: { future: 1 } } } },
  ])
    assert.equal(policyKindProblem(p), undefined, JSON.stringify(p));
});
