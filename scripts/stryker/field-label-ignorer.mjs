// A Stryker ignorer: the field names a parser hands to the byte cursor (`r.u16('version')`,
// `r.bytesOf(64, 'mrenclave')`, `new Reader(b, 'sgxs')`) and to `abytes(x, 32, 'mrenclave')` only word
// the message of the error those helpers throw (src/bytes/cursor.ts, src/bytes/util.ts): tests assert
// the code and the offsets, never the wording — the same rule as error-message-ignorer.mjs. Only a
// string literal in exactly those argument positions is ignored; the sizes, the reads and everything
// else stay mutated; so does a label built any other way than as a string or template literal. (`skip(name, because)` of the verifier's trace takes a literal first: not matched.)
// Likewise the kind a VerificationCache lookup is filed under (`cache.memo('certsig', key, …)`,
// `cache.memoRecent('qereport', parts, …)`, src/attestation/dcap/cache.ts): it only names the map; a
// mutant makes it '' (or a template without its text), which is no other kind, so the lookup behaves the same.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

// Reader method → index of its field-name argument.
const READER_LABEL = { bytesOf: 1, skip: 1, u8: 0, u16: 0, u32: 0, u64: 0 };

/** The position of the field-name argument of a cursor read, `new Reader` or `abytes` call, if it is one. */
export function labelPosition(call) {
  const callee = call.node.callee;
  if (call.isNewExpression()) return callee.type === 'Identifier' && callee.name === 'Reader' ? 1 : undefined;
  if (!call.isCallExpression()) return undefined;
  if (callee.type === 'Identifier' && callee.name === 'abytes') return 2;
  if (callee.type !== 'MemberExpression' || callee.computed || callee.property.type !== 'Identifier') return undefined;
  const at = READER_LABEL[callee.property.name];
  // A Reader read's other argument is a byte count, never a string.
  if (at === 1 && call.node.arguments[0]?.type === 'StringLiteral') return undefined;
  return at;
}

const CACHE_KIND = new Set(['memo', 'memoRecent']);

function isCacheKind(path) {
  if (path.key !== 0 || !(path.isStringLiteral() || path.isTemplateLiteral())) return false;
  const call = path.parentPath;
  const callee = call?.node.callee;
  return (
    call.isCallExpression() &&
    callee.type === 'MemberExpression' &&
    !callee.computed &&
    callee.property.type === 'Identifier' &&
    CACHE_KIND.has(callee.property.name)
  );
}

export const fieldLabelIgnorer = {
  shouldIgnore(path) {
    if (path.listKey !== 'arguments') return undefined;
    if (isCacheKind(path)) return 'a cache kind only names the map a lookup is filed under; no other kind is empty';
    if (!path.isStringLiteral() && !path.isTemplateLiteral()) return undefined;
    const call = path.parentPath;
    if (!call || labelPosition(call) !== path.key) return undefined;
    return 'a field name that only words a parse error: tests assert the code, not the wording';
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'catena-field-label', fieldLabelIgnorer)];
