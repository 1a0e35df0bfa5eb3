import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Issue 12 item 1, as a new user gets it: `npm pack`, the tarball installed into an empty project,
 * then under plain node (no tsx, no NODE_OPTIONS) `import('catena')` and every sub-path of the
 * exports map load, a .ts file importing them passes `tsc --noEmit` with moduleResolution node16
 * and bundler, and the installed `catena` runs. Needs the npm registry (or its cache) for the
 * package's dependencies; better-sqlite3 may build from source.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const plainEnv = (() => {
  const { NODE_OPTIONS: _o, NODE_TEST_CONTEXT: _c, ...env } = process.env;
  return env;
})();
const npm = (cwd: string, ...args: string[]) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: plainEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 900_000,
  });

test(
  'the packed tarball installs into an empty project, imports under plain node and typechecks',
  { timeout: 2_400_000 },
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'catena-package-'));
    try {
      const pack = join(tmp, 'pack');
      mkdirSync(pack);
      npm(ROOT, 'pack', '--pack-destination', pack);
      const tgz = join(
        pack,
        readdirSync(pack).find((f) => f.endsWith('.tgz'))!,
      );
      const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n');
      assert.ok(
        files.includes('package/dist/index.js') && files.includes('package/dist/index.d.ts'),
        'dist/ with .js and .d.ts is in the tarball',
      );
      assert.ok(files.includes('package/bin/catena.js'), 'bin/catena.js is in the tarball');
      assert.ok(
        !files.some((f) => f.startsWith('package/test/') || f.startsWith('package/src/')),
        'no tests or TypeScript sources in the tarball',
      );

      const app = join(tmp, 'app');
      mkdirSync(app);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }),
      );
      npm(app, 'install', '--no-audit', '--no-fund', '--prefer-offline', tgz);
      const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'catena', 'package.json'), 'utf8')) as {
        version: string;
        exports: Record<string, unknown>;
        dependencies: Record<string, string>;
      };
      for (const dev of ['typescript', 'tsx', 'fast-check', '@phala/dcap-qvl'])
        assert.ok(!(dev in pkg.dependencies), `${dev} is not a dependency`);
      assert.ok(!Object.keys(pkg.dependencies).some((d) => d.startsWith('@types/')), 'no @types/* in dependencies');

      const subpaths = Object.keys(pkg.exports)
        .filter((k) => !k.includes('*') && !k.endsWith('.json'))
        .map((k) => `catena${k.slice(1)}`);
      assert.ok(subpaths.length >= 10, `documented sub-paths: ${subpaths.join(', ')}`);
      const load = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
const bad = [];
for (const s of process.argv.slice(1)) { try { await import(s); } catch (e) { bad.push(s + ': ' + e.message); } }
const m = await import('catena');
if (!['Chain', 'DcapVerifier', 'verifyQuote', 'Platform', 'Manufacturer', 'LocalAttestationInitiator', 'connectAttested', 'build'].every((n) => typeof m[n] === 'function')) bad.push('catena: the public API is incomplete');
console.log(JSON.stringify(bad));`,
          ...subpaths,
        ],
        { cwd: app, encoding: 'utf8', env: plainEnv, timeout: 120_000 },
      );
      assert.equal(load.status, 0, load.stderr);
      assert.deepEqual(JSON.parse(load.stdout), []);

      npm(app, 'install', '--no-audit', '--no-fund', '--prefer-offline', '-D', 'typescript@5.9', '@types/node@20');
      writeFileSync(
        join(app, 'check.ts'),
        [
          "import * as catena from 'catena';",
          "import { Chain, verifyQuote, type Appraisal } from 'catena';",
          ...subpaths.filter((s) => s !== 'catena').map((s, i) => `import * as m${i} from '${s}';`),
          'export const names: string[] = Object.keys(catena);',
          `export const all: unknown[] = [Chain, verifyQuote, ${subpaths
            .filter((s) => s !== 'catena')
            .map((_, i) => `m${i}`)
            .join(', ')}];`,
          "export type V = Appraisal['verdict'];",
        ].join('\n'),
      );
      for (const [resolution, module] of [
        ['node16', 'node16'],
        ['bundler', 'preserve'],
      ] as const) {
        const tsc = (skipLibCheck: boolean) => {
          writeFileSync(
            join(app, `tsconfig.${resolution}.json`),
            JSON.stringify({
              compilerOptions: {
                strict: true,
                module,
                moduleResolution: resolution,
                target: 'es2022',
                noEmit: true,
                skipLibCheck,
                types: ['node'],
              },
              files: ['check.ts'],
            }),
          );
          return spawnSync(
            process.execPath,
            [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', `tsconfig.${resolution}.json`],
            { cwd: app, encoding: 'utf8', env: plainEnv, timeout: 300_000 },
          );
        };
        // As the contract check does (skipLibCheck) …
        const r = tsc(true);
        assert.equal(r.status, 0, `tsc --noEmit (${resolution}):\n${r.stdout.slice(0, 3000)}`);
        // … and with Catena's own declarations checked too: errors may come only from other packages' .d.ts
        // (@peculiar/asn1-schema's do not pass under node16), never from catena's or from check.ts.
        const strict = tsc(false);
        const ours = strict.stdout
          .split('\n')
          .filter((l) => /error TS/.test(l) && (l.startsWith('check.ts') || l.includes('node_modules/catena/')));
        assert.deepEqual(ours, [], `tsc --noEmit (${resolution}, skipLibCheck false)`);
      }

      const version = spawnSync(join(app, 'node_modules', '.bin', 'catena'), ['--version'], {
        cwd: app,
        encoding: 'utf8',
        env: plainEnv,
        timeout: 60_000,
      });
      assert.equal(version.stdout.trim(), pkg.version);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
