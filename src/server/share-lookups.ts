/**
 * Wraps a keyed read so that the calls made with one key during one turn of the event loop share one
 * read, started at the next turn (setImmediate): under load the manager makes one bearer-token query
 * per turn instead of one per request (issue 15, item 4). Each caller still gets a read that began
 * after it called — it sees every write committed before its request arrived (a token revoked
 * before then is refused, as with a read of its own) — and nothing is kept after the read answered.
 */
export function shareLookupsPerTurn<T>(read: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const waiting = new Map<string, Promise<T>>();
  return (key) => {
    let p = waiting.get(key);
    if (!p) {
      p = new Promise<T>((resolve, reject) =>
        setImmediate(() => {
          waiting.delete(key);
          read(key).then(resolve, reject);
        }),
      );
      waiting.set(key, p);
    }
    return p;
  };
}
