import type { JobHandler } from '../jobs/runner.ts';
import type { Store } from '../../store/types.ts';
import { WebhookDeliveryError } from './errors.ts';
import type { WebhookSigner } from './sign.ts';

export const WEBHOOK_DELIVER = 'webhook.deliver';

/** The payload of a webhook.deliver job (written by webhookFanout). */
export interface DeliveryPayload {
  webhook: string;
  eventId: string;
  event: { type: string; chain?: string; element?: string; at: string; [k: string]: unknown };
}

export interface DeliverOptions {
  /** Per attempt (ms, default 5000). */
  timeoutMs?: number;
  /** Called after each attempt: delivered, or failed (then the job is retried or dies). */
  onAttempt?: (outcome: 'delivered' | 'failed') => void;
}

/**
 * The webhook.deliver job handler: POSTs the event as a compact JWS (payload = the event plus
 * {webhook, eventId}) to the webhook's URL with content-type application/jose, Idempotency-Key = the
 * job key and Catena-Event = the event type. Any 2xx is delivered; anything else (3xx included:
 * redirects are not followed), a timeout or a network error throws, and the runner retries with
 * backoff. A webhook deleted since the event was fanned out is not called (the job ends done, skipped).
 */
export function webhookDeliverHandler(store: Store, sign: WebhookSigner, o: DeliverOptions = {}): JobHandler {
  const timeoutMs = o.timeoutMs ?? 5000;
  return async (ctx) => {
    const p = ctx.job.payload as DeliveryPayload;
    const hook = await store.getWebhook(p.webhook);
    if (!hook) return { skipped: 'webhook deleted' };
    const body = await sign({ ...p.event, webhook: p.webhook, eventId: p.eventId });
    let status: number;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        headers: {
          'content-type': 'application/jose',
          'idempotency-key': ctx.job.key,
          'catena-event': p.event.type,
        },
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ctx.signal]),
      });
      status = res.status;
      await res.body?.cancel().catch(() => {});
    } catch (e) {
      o.onAttempt?.('failed');
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e as Error).message;
      throw new WebhookDeliveryError(`delivery to webhook ${p.webhook} failed: ${why}`, { cause: e });
    }
    if (status < 200 || status > 299) {
      o.onAttempt?.('failed');
      throw new WebhookDeliveryError(`webhook ${p.webhook} receiver answered ${status}`);
    }
    o.onAttempt?.('delivered');
    return { status };
  };
}
