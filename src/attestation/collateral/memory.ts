import { CollateralError } from '../errors.ts';
import type { Collateral, CollateralSource } from './types.ts';

/** The same collateral for every request (tests, a caller that already holds it). */
export function memoryCollateral(collateral: Collateral): CollateralSource {
  return { get: async () => collateral };
}

/** Never yields collateral: every verification through it is rejected at `collateral.source`. */
export function alwaysFailCollateral(reason = 'no collateral source configured'): CollateralSource {
  return {
    get: async () => {
      throw new CollateralError(reason);
    },
  };
}
