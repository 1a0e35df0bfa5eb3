import { CatenaError } from '../../errors.ts';

/**
 * A webhook receiver did not take a delivery: a status other than 2xx (redirects are not followed),
 * a timeout or a network failure (docs/errors.md, ERR_WEBHOOK_DELIVERY). The delivery job is retried
 * with backoff and ends in the dead letters after its last attempt.
 */
export class WebhookDeliveryError extends CatenaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WEBHOOK_DELIVERY', message, options);
  }
}
