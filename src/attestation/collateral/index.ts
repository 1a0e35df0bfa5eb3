export type { Collateral, CollateralRequest, CollateralSource } from './types.ts';
export { isCollateralSource } from './types.ts';
export { directoryCollateral } from './from-directory.ts';
export { qvlJsonFileCollateral, collateralFromQvlJson, collateralToQvlJson } from './from-qvl-json.ts';
export { pcsCollateral, type PcsOptions } from './from-pcs.ts';
export { memoryCollateral, alwaysFailCollateral } from './memory.ts';
export { openCollateral } from './open.ts';
