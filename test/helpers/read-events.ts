/**
 * Reads the manager's /v1/events stream at `baseUrl` until `needle` shows, or 10 s pass (then the
 * caller's assertions fail, rather than the test hanging). Returns the text read.
 */
export async function readEventsUntil(
  baseUrl: string,
  token: string,
  headers: Record<string, string>,
  needle: string,
): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(`${baseUrl}/v1/events`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  const guard = setTimeout(() => ac.abort(), 10_000);
  let text = '';
  try {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } catch {
    // aborted by the guard
  }
  clearTimeout(guard);
  ac.abort();
  return text;
}
