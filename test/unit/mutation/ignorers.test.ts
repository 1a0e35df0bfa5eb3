// The Stryker ignorers decide which mutants are not counted: each must ignore exactly the string
// literals it names (message text, a parse field's name) and nothing a check reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as babel from '@babel/core';
import { parseSync, traverse, type NodePath } from '@babel/core';
import { fileURLToPath } from 'node:url';
import { errorMessageIgnorer } from '../../../scripts/stryker/error-message-ignorer.mjs';
import { fieldLabelIgnorer } from '../../../scripts/stryker/field-label-ignorer.mjs';
import { checkDetailIgnorer } from '../../../scripts/stryker/check-detail-ignorer.mjs';

/** The source of each node of `code` that `ignorer` ignores (Stryker then ignores its whole subtree). */
function ignored(
  ignorer: { shouldIgnore(path: NodePath): string | undefined },
  code: string,
  filename?: string,
): string[] {
  const ast = parseSync(code, { filename: 'x.ts', presets: [], plugins: [], parserOpts: { plugins: ['typescript'] } });
  assert.ok(ast, 'parsed');
  // As Stryker's instrumenter does: the AST inside a babel File, so a path knows its file name.
  // (@babel/core exports File; its type declarations do not.)
  const { File } = babel as unknown as {
    File: new (o: { filename: string }, i: { code: string; ast: object }) => { ast: NonNullable<typeof ast> };
  };
  const root = filename ? new File({ filename }, { code, ast }).ast : ast;
  const out: string[] = [];
  traverse(root, {
    enter(path) {
      if (ignorer.shouldIgnore(path) === undefined) return;
      out.push(code.slice(path.node.start ?? 0, path.node.end ?? 0));
      path.skip();
    },
  });
  return out;
}

test('field labels: the cursor reads, new Reader and abytes, at their label position only', () => {
  const code = `
    const r = new Reader(b, 'sgxs');
    r.u8('a'); r.u16('b'); r.u32('c'); r.u64('d');
    r.bytesOf(64, 'e'); r.skip(12, 'f');
    abytes(x, 32, 'g');
    trace.skip('pck.revocation', 'no CRL');
    r.bytesOf('h', 'i');
    abytes('j', 32, k);
    other(x, 32, 'l');
    new Other(b, 'm');
    obj['u16']('n');
    r.u16(v === 'o' ? 1 : 2);
    fields.get('p');`;
  assert.deepEqual(ignored(fieldLabelIgnorer, code), ["'sgxs'", "'a'", "'b'", "'c'", "'d'", "'e'", "'f'", "'g'"]);
});

test('field labels: the kind of a cache lookup (memo, memoRecent), first argument only', () => {
  const code = `
    cache.memo('certsig', 'k1', () => 1);
    cache.memoRecent('qereport', ['k2'], () => 2);
    cache.memo(\`\${name}.sig\`, 'k3', () => 3);
    memo('q', 'k4');
    cache['memo']('r', 'k5');
    cache.get('s');`;
  assert.deepEqual(ignored(fieldLabelIgnorer, code), ["'certsig'", "'qereport'", '`${name}.sig`']);
});

test('error messages: the first argument of new …Error, not its code, not other calls', () => {
  const code = `
    throw new FormatError('too short', 'ERR_SHORT_INPUT');
    throw new ChainError('ERR_CHAIN_LINK', 'x');
    throw new Error(\`at \${'q'}\`);
    new Reader(b, 'r');
    fail('s');
    throw new Oops('t');`;
  assert.deepEqual(ignored(errorMessageIgnorer, code), ["'too short'", "`at ${'q'}`"]);
});

test('error messages: the arguments of a message wrapper that word only its message', () => {
  const code = `
    function derError(what, message) { return new FormatError(\`\${what}: \${message}\`, 'ERR_DER'); }
    function refuse(message) { throw new FormatError(message, 'ERR_PCK_EXTENSION'); }
    const bad = (m, code) => new FormatError(m, code);
    function twice(what) { return new FormatError(what, what); }
    function logged(m) { log(m); return new FormatError(m, 'ERR_X'); }
    function notError(m) { return new Thing(m, 'ERR_Y'); }
    throw derError('a', \`b \${n}\`);
    refuse(x ? 'c' : 'd');
    throw bad('e', 'ERR_F');
    throw twice('g');
    throw logged('h');
    notError('i');
    unknown('j');`;
  assert.deepEqual(ignored(errorMessageIgnorer, code), [
    // The wrappers' own message arguments (the `new …Error` rule), then the calls' message arguments:
    // not twice's 'g' (its parameter is also the code), logged's 'h' (also logged), nor 'i', 'j'.
    '`${what}: ${message}`',
    'message',
    'm',
    'what',
    'm',
    "'a'",
    '`b ${n}`',
    "x ? 'c' : 'd'",
    "'e'",
  ]);
});

test('error messages: a wrapper imported from a relative module is read from that file (jsonFail)', () => {
  const code = `
    import { jsonFail } from './json-fields.ts';
    import { other } from 'node:x';
    jsonFail('a', \`b \${c}\`, 'ERR_D');
    other('e');`;
  const filename = fileURLToPath(new URL('../../../src/formats/x.ts', import.meta.url));
  assert.deepEqual(ignored(errorMessageIgnorer, code, filename), ["'a'", '`b ${c}`']);
  // Unresolvable (no such module, or no file name known): nothing is ignored.
  const missing = code.replace('./json-fields.ts', './no-such-module.ts');
  assert.deepEqual(ignored(errorMessageIgnorer, missing, filename), []);
  assert.deepEqual(ignored(errorMessageIgnorer, code), []);
});

test('error messages: message-only through other functions, cursor labels and defaults; nested functions not', () => {
  const code = `
    function derError(what, message) { return new FormatError(\`\${what}: \${message}\`, 'ERR_DER'); }
    function expectTag(node, tag, what = 'DER') {
      if (node.tag !== tag) throw derError(what, 'wrong tag');
      return node;
    }
    function octets(node, len, what) {
      const v = expectTag(node, 4, \`\${what} octets\`).value;
      if (v.length !== len) throw derError(what, 'length');
      return v;
    }
    function read(r, what) { return r.u16(\`\${what}.size\`); }
    function keyed(what) { cache.set(what, 1); throw derError(what, 'x'); }
    function outer() {
      function inner(m) { return new FormatError(m, 'ERR_Z'); }
      inner('a');
    }
    octets(n, 16, 'cpusvn');
    expectTag(n, 48);
    read(r, 'b');
    keyed('c');
    r.u32(\`field\${i}\`);`;
  assert.deepEqual(ignored(errorMessageIgnorer, code), [
    '`${what}: ${message}`',
    "'DER'",
    'what',
    "'wrong tag'",
    '`${what} octets`',
    'what',
    "'length'",
    'what',
    "'x'",
    'm',
    // Not keyed's 'c' (its parameter is also a cache key), nor inner's 'a' (a nested function).
    "'cpusvn'",
    "'b'",
  ]);
  // The cursor's label is the field-label ignorer's, a template literal as a string.
  assert.deepEqual(ignored(fieldLabelIgnorer, code), ['`${what}.size`', '`field${i}`']);
});

test('check details: the detail argument of run.pass/fail/skip/record, and strings pushed to an array that only becomes one', () => {
  const code = `
    run.pass('a.name', 'a detail');
    run.pass('b.name');
    run.fail('c.name', \`d \${cache.iso(x, 'e')}\`, 'ERR_F');
    run.skip(n, signerProblem ?? 'g');
    run.record('h.name', ok, ok ? 'i' : 'j');
    run.record('k.name', x === 'l', m);
    function f() {
      const problems = [];
      if (a) problems.push('n');
      if (b) problems.push(\`o \${p}\`);
      run.record('q.name', problems.length === 0, problems.length ? problems.join('; ') : 'r');
    }
    function g() {
      const reasons = [];
      reasons.push('s');
      if (reasons.includes('t')) run.fail('u.name', reasons.join());
    }
    function i() {
      // As Stryker's instrumenter has rewritten the declaration by the time it visits the push.
      const revoked = stryMutAct_9fa48('1') ? ['Stryker was here'] : (stryCov_9fa48('1'), []);
      revoked.push('ff');
      run.record('gg.name', revoked.length === 0, revoked.join());
    }
    function h(list) {
      list.push('v');
      const sent = [];
      sent.push('w');
      send(sent);
    }
    other.pass('x.name', 'y');
    run.pass(\`z\`, 'aa');
    const names = ['bb.name'];
    for (const n of names) run.skip(n, 'cc');
    this.checks.push({ name, ok: false, detail: 'dd', code: 'ERR_EE' });`;
  assert.deepEqual(ignored(checkDetailIgnorer, code), [
    "'a detail'",
    "`d ${cache.iso(x, 'e')}`",
    "'g'",
    "'i'",
    "'j'",
    "'n'",
    '`o ${p}`',
    "'; '",
    "'r'",
    "'ff'",
    "'aa'",
    "'cc'",
  ]);
});
