import { stat } from 'node:fs/promises';
import { CollateralError } from '../errors.ts';
import { directoryCollateral } from './from-directory.ts';
import { pcsCollateral } from './from-pcs.ts';
import { qvlJsonFileCollateral } from './from-qvl-json.ts';
import type { CollateralSource } from './types.ts';

/** Picks a source by what `where` is: an http(s) URL → PCS/PCCS, a directory → directory, a file → dcap-qvl collateral.json. */
export async function openCollateral(where: string): Promise<CollateralSource> {
  if (/^https?:\/\//i.test(where)) return pcsCollateral(where);
  let s;
  try {
    s = await stat(where);
  } catch (e) {
    throw new CollateralError(`collateral ${where}: ${(e as Error).message}`);
  }
  return s.isDirectory() ? directoryCollateral(where) : qvlJsonFileCollateral(where);
}
