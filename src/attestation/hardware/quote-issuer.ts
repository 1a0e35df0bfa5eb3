/**
 * The channel's QuoteIssuer shape (`src/channel/types.ts`: `issue(reportData) → evidence`) over a
 * hardware attester, as a plain object: attestation does not import channel, the shape matches.
 */
export interface HardwareQuoteSource {
  quote(reportData: Uint8Array): Promise<Uint8Array>;
}

export function hardwareQuoteIssuer(attester: HardwareQuoteSource): {
  issue(reportData: Uint8Array): Promise<Uint8Array>;
} {
  return { issue: (reportData) => attester.quote(reportData) };
}
