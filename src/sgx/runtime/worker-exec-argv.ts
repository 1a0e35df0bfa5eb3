/**
 * The execArgv for a worker whose bootstrap registers tsx itself (enclave workers, verifier
 * workers): the parent's flags without an inherited `--import tsx` / `--import=tsx` / `--loader tsx`,
 * so tsx is not registered twice.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (
      (a === '--import' || a === '--loader' || a === '--experimental-loader') &&
      /(^|\/)tsx(\/|$)/.test(argv[i + 1] ?? '')
    ) {
      i++;
      continue;
    }
    if (/^--(import|loader|experimental-loader)=.*tsx/.test(a)) continue;
    out.push(a);
  }
  return out;
}
