// A Stryker ignorer: the text of an error's message (the first argument of `new SomethingError(…)`)
// is for people, not a check's outcome: the tests assert the error's class and stable `code`, never
// its wording (docs/testing.md). Mutants inside that argument are ignored, not counted; the code
// argument and everything else stays mutated.
// The same holds for the arguments of a *message wrapper* — a function whose whole body builds such an
// error (`function derError(what, message) { return new FormatError(`${what}: ${message}`, 'ERR_DER') }`,
// `jsonFail(what, message, code)`, `refuse(message)`): an argument whose parameter appears in the
// message and nowhere else in the function words the message only. The wrapper is found through the
// callee's binding: declared in the same file, or imported by name from a relative module (read once).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import babel from '@babel/core';
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

/** `new XError(…)`, the expression a message wrapper consists of, or undefined. */
function builtError(fn) {
  let expr;
  if (fn.body.type !== 'BlockStatement') expr = fn.body;
  else if (fn.body.body.length === 1 && ['ReturnStatement', 'ThrowStatement'].includes(fn.body.body[0].type))
    expr = fn.body.body[0].argument;
  const callee = expr?.type === 'NewExpression' ? expr.callee : undefined;
  return callee?.type === 'Identifier' && callee.name.endsWith('Error') && expr.arguments.length > 0 ? expr : undefined;
}

/** How often an identifier named `name` occurs in the subtree `node` (any position: conservative). */
function occurrences(node, name) {
  if (!node || typeof node !== 'object') return 0;
  if (Array.isArray(node)) return node.reduce((n, c) => n + occurrences(c, name), 0);
  let n = node.type === 'Identifier' && node.name === name ? 1 : 0;
  for (const [k, v] of Object.entries(node))
    if (!['loc', 'start', 'end', 'leadingComments', 'trailingComments', 'innerComments', 'extra'].includes(k))
      n += occurrences(v, name);
  return n;
}

/** The parameter positions of `fn` that only word the message of the error it builds. */
export function messageOnlyParams(fn) {
  const made = fn && builtError(fn);
  if (!made) return new Set();
  const out = new Set();
  fn.params.forEach((p, i) => {
    if (p.type !== 'Identifier') return;
    const inMessage = occurrences(made.arguments[0], p.name);
    if (inMessage > 0 && occurrences(fn.body, p.name) === inMessage) out.add(i);
  });
  return out;
}

const parsedModules = new Map();

/** The top-level function `name` (declared, or a const arrow/function) of the module at `file`. */
function functionIn(program, name) {
  for (let s of program.body) {
    if (s.type === 'ExportNamedDeclaration' && s.declaration) s = s.declaration;
    if (s.type === 'FunctionDeclaration' && s.id?.name === name) return s;
    if (s.type === 'VariableDeclaration' && s.kind === 'const')
      for (const d of s.declarations)
        if (d.id.type === 'Identifier' && d.id.name === name && /Function/.test(d.init?.type ?? '')) return d.init;
  }
  return undefined;
}

function importedFunction(binding, fromFile) {
  const spec = binding.path.node;
  const decl = binding.path.parent;
  if (spec.type !== 'ImportSpecifier' || !fromFile || !decl.source.value.startsWith('.')) return undefined;
  const file = resolve(dirname(fromFile), decl.source.value);
  if (!parsedModules.has(file)) {
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
      program = undefined; // unreadable: its wrappers are not recognised, so nothing more is ignored
    }
    parsedModules.set(file, program);
  }
  const program = parsedModules.get(file);
  const name = spec.imported.type === 'Identifier' ? spec.imported.name : spec.imported.value;
  return program && functionIn(program, name);
}

/** The wrapper function a call's callee names, if its binding leads to one. */
function calledFunction(call) {
  const callee = call.node.callee;
  if (callee.type !== 'Identifier') return undefined;
  const binding = call.scope.getBinding(callee.name);
  if (!binding) return undefined;
  const p = binding.path;
  if (p.isFunctionDeclaration()) return p.node;
  if (p.isVariableDeclarator() && binding.kind === 'const' && /Function/.test(p.node.init?.type ?? ''))
    return p.node.init;
  if (binding.kind === 'module') return importedFunction(binding, call.hub?.file?.opts?.filename);
  return undefined;
}

export const errorMessageIgnorer = {
  shouldIgnore(path) {
    if (path.listKey !== 'arguments') return undefined;
    const call = path.parentPath;
    if (call?.isCallExpression()) {
      return messageOnlyParams(calledFunction(call)).has(path.key)
        ? 'an argument of a message wrapper that only words the error message'
        : undefined;
    }
    if (path.key !== 0 || !call?.isNewExpression()) return undefined;
    const callee = call.node.callee;
    const name = callee.type === 'Identifier' ? callee.name : undefined;
    if (!name || !name.endsWith('Error')) return undefined;
    if (path.isStringLiteral() && /^ERR_[A-Z0-9_]+$/.test(path.node.value)) return undefined;
    return 'an error message text: tests assert the code, not the wording';
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'catena-error-message', errorMessageIgnorer)];
