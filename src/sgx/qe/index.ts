export {
  QuotingService,
  buildQuotingImages,
  QE_ISVPRODID,
  PCE_ISVPRODID,
  QE_ISVSVN,
  type PckIssuer,
  type QuotingImages,
} from './quoting-service.ts';
export { buildQuoteV3, INTEL_QE_VENDOR_ID, type QuoteV3Parts } from './quote-builder.ts';
