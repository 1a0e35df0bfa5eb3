// A Stryker ignorer: the text of an error's message (the first argument of `new SomethingError(…)`)
// is for people, not a check's outcome: the tests assert the error's class and stable `code`, never
// its wording (docs/testing.md). Mutants inside that argument are ignored, not counted; the code
// argument and everything else stays mutated.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

export const errorMessageIgnorer = {
  shouldIgnore(path) {
    if (path.listKey !== 'arguments' || path.key !== 0) return undefined;
    const call = path.parentPath;
    if (!call?.isNewExpression()) return undefined;
    const callee = call.node.callee;
    const name = callee.type === 'Identifier' ? callee.name : undefined;
    if (!name || !name.endsWith('Error')) return undefined;
    if (path.isStringLiteral() && /^ERR_[A-Z0-9_]+$/.test(path.node.value)) return undefined;
    return 'an error message text: tests assert the code, not the wording';
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'catena-error-message', errorMessageIgnorer)];
