// Entry: the token leaves the address bar before anything else runs, then the app renders.
import { render } from 'preact';
import { App } from './app.tsx';
import { loadGraph } from './graph-loader.ts';
import { markOnce } from './marks.ts';
import { takeFragmentToken } from './token.ts';
import './style.css';

markOnce('catena:script');
takeFragmentToken();
render(<App />, document.getElementById('app')!);
// The graph's chunk downloads and compiles while the app signs in and reads the chain.
void loadGraph();
