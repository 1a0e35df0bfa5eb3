import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { buildEnclave } from '../sgx/build.ts';
import { buildQuotingImages, type QuotingImages } from '../sgx/qe/quoting-service.ts';
import { TD_QE_ISVPRODID, TD_QE_ISVSVN } from '../sgx/manufacturer/tdx-collateral.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const TD_QE_SOURCE = readFileSync(join(HERE, 'td-qe-enclave.js'), 'utf8');

/** The TD QE and the platform's PCE, signed by the manufacturer's enclave-signing key: start them with QuotingService. */
export function buildTdQuotingImages(vendorKey: KeyObject, pceSvn: number): QuotingImages {
  return {
    qe: buildEnclave(
      TD_QE_SOURCE,
      { isvProdId: TD_QE_ISVPRODID, isvSvn: TD_QE_ISVSVN, provisionKey: true },
      vendorKey,
      {
        date: '20260101',
      },
    ),
    pce: buildQuotingImages(vendorKey, pceSvn).pce,
  };
}
