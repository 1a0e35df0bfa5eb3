// The dashboard shell: sign-in (token from the fragment or pasted), navigation between views, the
// live event stream shared by every view, and the banner while it is disconnected.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Chain } from './api.ts';
import { openEvents, type LiveEvent } from './events.ts';
import { markOnce } from './marks.ts';
import { clearToken, getToken, setToken } from './token.ts';
import { ChainView } from './views/chain.tsx';
import { Benchmarks } from './views/benchmarks.tsx';
import { Events } from './views/events.tsx';
import { Audit, Overview } from './views/others.tsx';
import { Platforms } from './views/platforms.tsx';

type View = 'chain' | 'overview' | 'platforms' | 'events' | 'audit' | 'benchmarks';
const VIEWS: { key: View; label: string }[] = [
  { key: 'chain', label: 'Chain' },
  { key: 'overview', label: 'Overview' },
  { key: 'platforms', label: 'Platforms' },
  { key: 'events', label: 'Events' },
  { key: 'audit', label: 'Audit' },
  { key: 'benchmarks', label: 'Benchmarks' },
];

function SignIn({ message, onToken }: { message: string | undefined; onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="signin">
      <h1>Catena dashboard</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onToken(value.trim());
        }}
      >
        <label for="token">API token (a reader token is enough; an admin token unlocks actions)</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      {message ? (
        <p role="alert" class="problem">
          {message}
        </p>
      ) : null}
    </main>
  );
}

export function App() {
  const [who, setWho] = useState<{ id: string; role: string } | undefined>();
  const [signInMessage, setSignInMessage] = useState<string | undefined>();
  const [checking, setChecking] = useState(Boolean(getToken()));
  const [chains, setChains] = useState<Chain[]>([]);
  const [chain, setChain] = useState<string | undefined>();
  const [view, setView] = useState<View>('chain');
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [connected, setConnected] = useState(true);
  const [generation, setGeneration] = useState(0);
  const [error, setError] = useState<string | undefined>();

  const signIn = async () => {
    if (!getToken()) return setChecking(false);
    try {
      const [w, list] = await Promise.all([
        api<{ id: string; role: string }>('/v1/auth/whoami'),
        api<{ chains: Chain[] }>('/v1/chains?limit=100'),
      ]);
      markOnce('catena:signed-in');
      setChains(list.chains);
      setChain((c) => c ?? list.chains[list.chains.length - 1]?.id);
      setWho(w);
      setSignInMessage(undefined);
    } catch (e) {
      clearToken();
      const p = e instanceof ApiError ? e.problem : undefined;
      setSignInMessage(
        p && (p.status === 401 || p.status === 403)
          ? `Sign-in failed: invalid or expired token (the manager answered ${p.status}${p.detail ? `: ${p.detail}` : ''}).`
          : `Sign-in failed: the manager could not be reached (${(e as Error).message}).`,
      );
    }
    setChecking(false);
  };
  useEffect(() => void signIn(), []);

  useEffect(() => {
    if (!who) return;
    const s = openEvents({
      onEvent: (e) => {
        setEvents((l) => (l.length >= 500 ? [...l.slice(-499), e] : [...l, e]));
        if (e.type === 'chain.created' || e.type === 'chain.deleted')
          void api<{ chains: Chain[] }>('/v1/chains?limit=100').then((r) => setChains(r.chains));
      },
      onState: (up) => {
        setConnected((was) => {
          if (up && !was) setGeneration((g) => g + 1);
          return up;
        });
      },
    });
    return () => s.stop();
  }, [who]);

  if (checking) return <p role="status">Signing in…</p>;
  if (!who)
    return (
      <SignIn
        message={signInMessage}
        onToken={(t) => {
          setToken(t);
          setChecking(true);
          void signIn();
        }}
      />
    );
  const admin = who.role === 'admin';
  return (
    <>
      <header>
        <h1>Catena</h1>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <button
              key={v.key}
              type="button"
              aria-current={view === v.key ? 'page' : undefined}
              onClick={() => setView(v.key)}
            >
              {v.label}
            </button>
          ))}
        </nav>
        <label class="chain-pick">
          Chain{' '}
          <select value={chain} onChange={(e) => setChain(e.currentTarget.value)}>
            {chains.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.id.slice(0, 8)})
              </option>
            ))}
          </select>
        </label>
        <span class="who">
          {who.role} token{' '}
          <button
            type="button"
            onClick={() => {
              clearToken();
              setWho(undefined);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      {!connected ? (
        <p role="alert" class="banner">
          Connection to the live event stream lost — reconnecting…
        </p>
      ) : null}
      {error ? (
        <p role="alert" class="problem">
          {error}
        </p>
      ) : null}
      <main>
        {view === 'chain' ? (
          chain ? (
            <ChainView chain={chain} admin={admin} events={events} generation={generation} onError={setError} />
          ) : (
            <p>No chains yet.</p>
          )
        ) : null}
        {view === 'overview' ? (
          <Overview
            chains={chains}
            onOpen={(id) => {
              setChain(id);
              setView('chain');
            }}
          />
        ) : null}
        {view === 'platforms' ? <Platforms /> : null}
        {view === 'events' ? <Events events={events} admin={admin} /> : null}
        {view === 'audit' ? <Audit /> : null}
        {view === 'benchmarks' ? <Benchmarks /> : null}
      </main>
    </>
  );
}
