import { ServerError } from '../errors.ts';

/** A webhook URL: absolute http: or https: (ERR_MALFORMED otherwise). Returns its normalised form. */
export function checkWebhookUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ServerError('ERR_MALFORMED', `webhook url ${JSON.stringify(text)} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ServerError('ERR_MALFORMED', `webhook url must be http: or https:, not ${url.protocol}`);
  return url.href;
}
