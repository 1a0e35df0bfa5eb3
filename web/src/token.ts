// The sign-in token: from the URL fragment once (#token=…, removed from the address bar at once) or
// pasted; kept in sessionStorage only (gone when the tab closes), never in localStorage or a cookie.
const KEY = 'catena.token';

/** Moves a `#token=…` fragment into sessionStorage and strips it from the address bar. */
export function takeFragmentToken(): void {
  const m = /^#token=([^&]*)/.exec(location.hash);
  if (!m) return;
  history.replaceState(null, '', location.pathname + location.search);
  const t = decodeURIComponent(m[1]).trim();
  if (t) sessionStorage.setItem(KEY, t);
}

export const getToken = (): string | null => sessionStorage.getItem(KEY);
export const setToken = (t: string): void => sessionStorage.setItem(KEY, t.trim());
export const clearToken = (): void => sessionStorage.removeItem(KEY);
