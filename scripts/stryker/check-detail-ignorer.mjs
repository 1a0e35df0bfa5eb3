// A Stryker ignorer: the detail text of a verifier check (src/attestation/dcap/verify-quote.ts) is for
// people — `run.pass(name, detail)`, `run.fail(name, detail, code)`, `run.skip(name, because)`,
// `run.record(name, ok, detail)` — as is an error's message (error-message-ignorer.mjs): tests assert
// the check's name, outcome and code, not the wording. Ignored: each string or template literal
// (with what it holds) inside that detail argument, and those pushed onto a local array whose only
// uses are `.push(…)`, `.length` and detail arguments (`problems.join('; ')`), since such a string
// reaches nothing but a detail (its count may decide, and `.length` stays mutated). The check's name,
// `ok`, the code, and any condition or operator inside a detail expression stay mutated.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

// Run method → index of its detail argument.
const DETAIL_ARG = { pass: 1, fail: 1, skip: 1, record: 2 };

/** The `run.<method>(…)` call, if `call` is one. */
function runMethod(call) {
  if (!call?.isCallExpression()) return undefined;
  const callee = call.node.callee;
  if (callee.type !== 'MemberExpression' || callee.computed) return undefined;
  if (callee.object.type !== 'Identifier' || callee.object.name !== 'run') return undefined;
  return callee.property.type === 'Identifier' ? callee.property.name : undefined;
}

/** Whether `path` lies inside (or is) the detail argument of a `run.*` call. */
function inDetailArgument(path) {
  for (let p = path; p?.parentPath; p = p.parentPath) {
    if (p.listKey === 'arguments') {
      const method = runMethod(p.parentPath);
      if (method && Object.hasOwn(DETAIL_ARG, method) && DETAIL_ARG[method] === p.key) return true;
    }
    if (p.isStatement() || p.isFunction()) return false;
  }
  return false;
}

/**
 * The expression Stryker's instrumenter replaced, if it did: by the time a later statement is visited, an
 * earlier `const problems = []` reads `stryMutAct_…(id) ? ['Stryker was here'] : (stryCov_…(id), [])`.
 */
function uninstrumented(node) {
  while (
    node?.type === 'ConditionalExpression' &&
    node.test.type === 'CallExpression' &&
    node.test.callee.type === 'Identifier' &&
    node.test.callee.name.startsWith('stryMutAct_')
  ) {
    node = node.alternate;
    if (node.type === 'SequenceExpression') node = node.expressions.at(-1);
  }
  return node;
}

/** Whether `path` is an argument of `x.push(…)` where `x` is a local array only pushed to, counted, or put in a detail. */
function pushedToDetailArray(path) {
  for (let p = path; p?.parentPath; p = p.parentPath) {
    if (p.listKey === 'arguments') {
      const call = p.parentPath;
      const callee = call.node.callee;
      if (
        !call.isCallExpression() ||
        callee.type !== 'MemberExpression' ||
        callee.computed ||
        callee.object.type !== 'Identifier' ||
        callee.property.type !== 'Identifier' ||
        callee.property.name !== 'push'
      )
        return false;
      const binding = call.scope.getBinding(callee.object.name);
      if (!binding || binding.kind === 'param' || binding.kind === 'module' || binding.constantViolations.length)
        return false;
      const init = binding.path.isVariableDeclarator() ? uninstrumented(binding.path.node.init) : undefined;
      if (init?.type !== 'ArrayExpression' || init.elements.length) return false;
      return binding.referencePaths.every((ref) => {
        const member = ref.parentPath;
        if (member?.isMemberExpression() && member.node.object === ref.node && !member.node.computed) {
          const prop = member.node.property.name;
          if (prop === 'length') return true;
          if (prop === 'push' && member.parentPath.isCallExpression() && member.parentPath.node.callee === member.node)
            return true;
        }
        return inDetailArgument(ref);
      });
    }
    if (p.isStatement() || p.isFunction()) return false;
  }
  return false;
}

export const checkDetailIgnorer = {
  shouldIgnore(path) {
    if (!path.isStringLiteral() && !path.isTemplateLiteral()) return undefined;
    if (inDetailArgument(path)) return "a check's detail text: tests assert the check's name, outcome and code";
    if (pushedToDetailArray(path)) return "a string that only becomes a check's detail text";
    return undefined;
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'catena-check-detail', checkDetailIgnorer)];
