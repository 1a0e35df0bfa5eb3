import { ChainError } from './errors.ts';
import { policyKindProblem, policyProblem } from './policy-shape.ts';
import type { ChainPolicy } from './types.ts';

/**
 * Validates a chain policy where it enters (an API body, a file, Chain.create): every field with its
 * documented type, `byDepth` keyed by depths only, no unknown field. A bad policy is refused here
 * with ERR_CHAIN_POLICY (check `policy`), a field set for the wrong element kind with ERR_CHAIN_POLICY_KIND
 * (check `policy-kind`), so no stored policy can make its chain's verification fail.
 */
export function parseChainPolicy(x: unknown): ChainPolicy {
  // A field of another element kind (an SGX field for TDs, a TD field for enclaves, …): ERR_CHAIN_POLICY_KIND.
  const wrongKind = policyKindProblem(x);
  if (wrongKind) throw new ChainError('ERR_CHAIN_POLICY_KIND', wrongKind, 'policy-kind');
  const problem = policyProblem(x, { strict: true });
  if (problem) throw new ChainError('ERR_CHAIN_POLICY', problem, 'policy');
  return x as ChainPolicy;
}
