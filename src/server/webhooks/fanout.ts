import type { JobRow, Store, WebhookRow } from '../../store/types.ts';
import type { JobRunner } from '../jobs/runner.ts';
import { webhookDeliverHandler, WEBHOOK_DELIVER, type DeliverOptions, type DeliveryPayload } from './deliver.ts';
import type { WebhookSigner } from './sign.ts';

/** What is fanned out: a manager event (ChainEvent) — a type, its time, maybe a chain and element. */
export interface WebhookEvent {
  type: string;
  chain?: string;
  element?: string;
  at: string;
  [k: string]: unknown;
}

export interface FanoutOptions extends DeliverOptions {
  /** Attempts per delivery before it is dead (default 6). */
  maxAttempts?: number;
}

/** A webhook wants an event when its chain filter and its event-type filter (null: all) both match. */
export function webhookMatches(w: WebhookRow, ev: WebhookEvent): boolean {
  return (w.chainId === null || w.chainId === ev.chain) && (w.events === null || w.events.includes(ev.type));
}

/**
 * Registers the webhook.deliver handler on the runner and returns the fanout: for an event and its id,
 * one delivery job per matching webhook, key `webhook:<webhookId>:<eventId>` (so fanning the same event
 * out twice delivers it once). Fanout only enqueues: a slow or failing receiver never delays the caller.
 */
export function webhookFanout(
  runner: JobRunner,
  store: Store,
  sign: WebhookSigner,
  o: FanoutOptions = {},
): (event: WebhookEvent, eventId: string) => Promise<JobRow[]> {
  runner.register(WEBHOOK_DELIVER, webhookDeliverHandler(store, sign, o));
  // The webhooks are read once per turn of the event loop for every event of that turn (a batch of
  // appends acknowledged together: one query, not one per event). A read is shared only by events
  // emitted before it starts, so each event still sees every webhook created before it.
  let next: Promise<WebhookRow[]> | undefined;
  const webhooksFromNow = (): Promise<WebhookRow[]> =>
    (next ??= new Promise<WebhookRow[]>((resolve, reject) =>
      setImmediate(() => {
        next = undefined;
        store.listWebhooks().then(resolve, reject);
      }),
    ));
  return async (event, eventId) => {
    const jobs: JobRow[] = [];
    for (const w of await webhooksFromNow()) {
      if (!webhookMatches(w, event)) continue;
      const payload: DeliveryPayload = { webhook: w.id, eventId, event };
      const { job } = await runner.enqueue(
        {
          kind: WEBHOOK_DELIVER,
          key: `webhook:${w.id}:${eventId}`,
          chainId: event.chain ?? null,
          payload,
          maxAttempts: o.maxAttempts ?? 6,
        },
        'webhooks',
      );
      jobs.push(job);
    }
    return jobs;
  };
}
