// Entry: the token leaves the address bar before anything else runs, then the app renders.
import { render } from 'preact';
import { App } from './app.tsx';
import { takeFragmentToken } from './token.ts';
import './style.css';

takeFragmentToken();
render(<App />, document.getElementById('app')!);
