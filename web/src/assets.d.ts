// Files Vite bundles as assets: importing one gives its URL under /ui/.
declare module '*.svg' {
  const url: string;
  export default url;
}
