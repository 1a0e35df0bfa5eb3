import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collateralId } from '../../../src/chain/verify-bundle.ts';
import { canonicalJson } from '../../../src/json/index.ts';
import { sha256 } from '../../../src/crypto/sha256.ts';
import { hex } from '../../../src/bytes/util.ts';

const direct = (c: Record<string, string>) => hex(sha256(new TextEncoder().encode(canonicalJson(c))));

test('collateralId is the SHA-256 of the canonical JSON, again after a field of the same object changes', () => {
  const blob: Record<string, string> = { b: 'x'.repeat(3000), a: '1' };
  const id = collateralId(blob);
  assert.equal(id, direct(blob));
  assert.equal(collateralId(blob), id);
  blob.a = '2';
  assert.equal(collateralId(blob), direct(blob));
  assert.notEqual(collateralId(blob), id);
  blob.c = '';
  assert.equal(collateralId(blob), direct(blob));
  delete blob.c;
  blob.a = '1';
  assert.equal(collateralId(blob), id, 'same content, same id');
});

test('collateralId of a blob with a non-string field is never remembered', () => {
  const inner = { v: 1 };
  const blob = { a: 'x', n: inner } as unknown as Record<string, string>;
  const id = collateralId(blob);
  inner.v = 2;
  assert.notEqual(collateralId(blob), id);
  assert.equal(collateralId(blob), direct(blob));
});

test('collateralId after the same object renames its fields (same values, same order): the new id', () => {
  const blob: Record<string, string> = { a: '1', b: '2' };
  const id = collateralId(blob);
  delete blob.a;
  delete blob.b;
  blob.c = '1';
  blob.d = '2';
  assert.equal(collateralId(blob), direct(blob));
  assert.notEqual(collateralId(blob), id);
});
