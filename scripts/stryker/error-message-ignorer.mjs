// A Stryker ignorer: the text of an error's message (the first argument of `new SomethingError(…)`)
// is for people, not a check's outcome: the tests assert the error's class and stable `code`, never
// its wording (docs/testing.md). Mutants inside that argument are ignored, not counted; the code
// argument and everything else stays mutated.
//
// The same holds for an argument that reaches nothing but such a message. A function's parameter is
// *message-only* when every use of it in the function's body lies inside a message (the first argument
// of `new …Error`) or is passed whole or inside a larger argument at a message-only position of another
// top-level function: `derError(what, message)` (→ `new FormatError(\`${what}: ${message}\`, 'ERR_DER')`),
// `jsonFail(what, message, code)` (not `code`), `refuse(message)`, and, through them, the `what` label of
// `expectTag(node, tag, what)`, `children(node, what)`, `octets(node, len, what)`. A field name handed to
// the byte cursor or `abytes` (field-label-ignorer.mjs) counts as message too. An argument at a
// message-only position, and the default value of a message-only parameter, are ignored. Functions are
// found by name: a function declaration or `const` function in the call's scope, a top-level one of the
// module, or one imported by name from a relative module (read once). Anything unresolved counts as a use
// that is not message-only, so the rule errs towards mutating.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import babel from '@babel/core';
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';
import { labelPosition } from './field-label-ignorer.mjs';

const SKIP_KEYS = new Set(['loc', 'start', 'end', 'leadingComments', 'trailingComments', 'innerComments', 'extra']);
const isFunction = (n) =>
  n?.type === 'FunctionDeclaration' || n?.type === 'FunctionExpression' || n?.type === 'ArrowFunctionExpression';
const isErrorNew = (n) =>
  n.type === 'NewExpression' && n.callee.type === 'Identifier' && n.callee.name.endsWith('Error');
const paramName = (p) => (p.type === 'Identifier' ? p.name : p.type === 'AssignmentPattern' ? p.left.name : undefined);

/** A module's top-level functions and named imports, from its Program node. */
const modules = new WeakMap();
function moduleOf(program, file) {
  if (!modules.has(program)) {
    const functions = new Map();
    const imports = new Map();
    for (let s of program.body) {
      if (s.type === 'ExportNamedDeclaration' && s.declaration) s = s.declaration;
      if (s.type === 'FunctionDeclaration' && s.id) functions.set(s.id.name, s);
      if (s.type === 'VariableDeclaration' && s.kind === 'const')
        for (const d of s.declarations)
          if (d.id.type === 'Identifier' && isFunction(d.init)) functions.set(d.id.name, d.init);
      if (s.type === 'ImportDeclaration' && s.source.value.startsWith('.') && file)
        for (const sp of s.specifiers)
          if (sp.type === 'ImportSpecifier')
            imports.set(sp.local.name, {
              file: resolve(dirname(file), s.source.value),
              name: sp.imported.type === 'Identifier' ? sp.imported.name : sp.imported.value,
            });
    }
    modules.set(program, { file, functions, imports });
  }
  return modules.get(program);
}

const programs = new Map();
function programOf(file) {
  if (!programs.has(file)) {
    let program;
    try {
      const code = readFileSync(file, 'utf8');
      program = babel.parseSync(code, {
        filename: file,
        configFile: false,
        babelrc: false,
        parserOpts: { plugins: ['typescript'] },
      })?.program;
    } catch {
      program = undefined; // unreadable: nothing in it is message-only
    }
    programs.set(file, program);
  }
  return programs.get(file);
}

/** The function `name` refers to at module level of `mod` (top-level, or imported): [fn, its module]. */
function resolveName(mod, name) {
  const fn = mod.functions.get(name);
  if (fn) return [fn, mod];
  const imp = mod.imports.get(name);
  const program = imp && programOf(imp.file);
  if (!program) return undefined;
  const other = moduleOf(program, imp.file);
  const target = other.functions.get(imp.name);
  return target ? [target, other] : undefined;
}

const results = new WeakMap();
/** The positions of `fn`'s parameters that are message-only (see the head comment); `mod` resolves callees. */
function messageOnlyParams(fn, mod) {
  if (results.has(fn)) return results.get(fn);
  results.set(fn, new Set()); // in progress: a recursive use is not message-only
  const names = fn.params.map(paramName);
  const uses = new Map(names.filter(Boolean).map((n) => [n, { all: 0, message: 0 }]));
  const own = new Set(names);
  const walk = (node, inMessage) => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((c) => walk(c, inMessage));
    if (node.type === 'Identifier' && uses.has(node.name)) {
      const u = uses.get(node.name);
      u.all++;
      if (inMessage) u.message++;
    }
    if (!inMessage && isErrorNew(node)) {
      walk(node.callee, false);
      node.arguments.forEach((a, i) => walk(a, i === 0));
      return;
    }
    if (
      !inMessage &&
      node.type === 'CallExpression' &&
      node.callee.type === 'Identifier' &&
      !own.has(node.callee.name)
    ) {
      const target = resolveName(mod, node.callee.name);
      const positions = target ? messageOnlyParams(...target) : new Set();
      walk(node.callee, false);
      node.arguments.forEach((a, i) => walk(a, positions.has(i)));
      return;
    }
    if (!inMessage && (node.type === 'CallExpression' || node.type === 'NewExpression')) {
      const at = labelPosition({
        node,
        isNewExpression: () => node.type === 'NewExpression',
        isCallExpression: () => node.type === 'CallExpression',
      });
      if (at !== undefined) {
        walk(node.callee, false);
        node.arguments.forEach((a, i) => walk(a, i === at));
        return;
      }
    }
    for (const [k, v] of Object.entries(node)) if (!SKIP_KEYS.has(k)) walk(v, inMessage);
  };
  walk(fn.body, false);
  fn.params.forEach((p) => p.type === 'AssignmentPattern' && walk(p.right, false));
  const out = new Set();
  names.forEach((n, i) => {
    const u = n && uses.get(n);
    if (u && u.all > 0 && u.all === u.message) out.add(i);
  });
  results.set(fn, out);
  return out;
}

/**
 * The module a path lies in. Read afresh from its file when the path knows it (Stryker's instrumenter:
 * by the time a call is visited, the functions above it are already rewritten with mutant switches);
 * otherwise the path's own program (a test's snippet).
 */
function moduleAt(path) {
  const file = path.hub?.file?.opts?.filename;
  const program = (file && programOf(resolve(file))) || path.scope.getProgramParent().path.node;
  return moduleOf(program, file && resolve(file));
}

/** The top-level or imported function a call's callee names, with its module; nested ones are not resolved. */
function calledFunction(call) {
  const callee = call.node.callee;
  if (callee.type !== 'Identifier') return undefined;
  const binding = call.scope.getBinding(callee.name);
  if (!binding || binding.scope !== call.scope.getProgramParent()) return undefined;
  return resolveName(moduleAt(call), callee.name);
}

/** The default value of a message-only parameter of a top-level function (`what = 'DER'`). */
function isMessageOnlyDefault(path) {
  const param = path.parentPath;
  if (path.key !== 'right' || !param?.isAssignmentPattern() || param.listKey !== 'params') return false;
  const fn = param.parentPath;
  const owner = fn.isFunctionDeclaration() ? fn : fn.parentPath?.isVariableDeclarator() ? fn.parentPath : undefined;
  const name = owner?.node.id?.name;
  if (!name || owner.scope.getProgramParent() !== owner.parentPath.scope) return false;
  const target = resolveName(moduleAt(path), name);
  return target !== undefined && messageOnlyParams(...target).has(param.key);
}

export const errorMessageIgnorer = {
  shouldIgnore(path) {
    if (isMessageOnlyDefault(path)) return 'the default of a parameter that only words an error message';
    if (path.listKey !== 'arguments') return undefined;
    const call = path.parentPath;
    if (call?.isCallExpression()) {
      const target = calledFunction(call);
      return target && messageOnlyParams(...target).has(path.key)
        ? 'an argument that only words an error message'
        : undefined;
    }
    if (path.key !== 0 || !call || !isErrorNew(call.node)) return undefined;
    if (path.isStringLiteral() && /^ERR_[A-Z0-9_]+$/.test(path.node.value)) return undefined;
    return 'an error message text: tests assert the code, not the wording';
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'catena-error-message', errorMessageIgnorer)];
