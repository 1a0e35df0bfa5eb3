import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certificatesFromAny, derFromAny, pemBlocks, pemCertificates, toPem } from '../../../src/attestation/pem.ts';

/**
 * PEM handling (pem.ts), exact: the strict form a quote's PCK chain must have (no signature covers its
 * text), the liberal form of files and PCS headers, canonical base64, and the "DER, PEM or hex" reader.
 */
const der1 = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]);
const der2 = new Uint8Array(Array.from({ length: 50 }, (_, i) => i));
const block = (der: Uint8Array, label = 'CERTIFICATE') => toPem(der, label);

test('toPem: 64 base64 characters a line, one final newline', () => {
  assert.equal(toPem(der1, 'X'), '-----BEGIN X-----\nMAMCAQc=\n-----END X-----\n');
  const b64 = Buffer.from(der2).toString('base64');
  assert.equal(
    toPem(der2, 'CERTIFICATE'),
    `-----BEGIN CERTIFICATE-----\n${b64.slice(0, 64)}\n${b64.slice(64)}\n-----END CERTIFICATE-----\n`,
  );
  const exact = new Uint8Array(48); // exactly 64 base64 characters: no empty line
  assert.equal(toPem(exact, 'X'), `-----BEGIN X-----\n${'A'.repeat(64)}\n-----END X-----\n`);
});

test('pemBlocks: every block in order, any whitespace or NUL between and after (liberal)', () => {
  const text = `\n ${block(der1)} \t\n\0${block(der2)}\r\n \0`;
  assert.deepEqual(pemCertificates(text), [der1, der2]);
  assert.deepEqual(
    pemBlocks(block(der1).replace('MAMCAQc=', 'MAMC\n AQc='), 'CERTIFICATE'),
    [der1],
    'whitespace inside the body',
  );
  assert.deepEqual(pemCertificates(''), []);
});

test('pemBlocks: strict allows only CR/LF between blocks, lines of base64 each ended, one final NUL', () => {
  const two = block(der1) + block(der2);
  assert.deepEqual(pemCertificates(two, { strict: true }), [der1, der2]);
  assert.deepEqual(pemCertificates(`${two}\0`, { strict: true }), [der1, der2]);
  assert.deepEqual(pemCertificates(`${two}\n\r\n\0`, { strict: true }), [der1, der2], 'line ends, then one NUL');
  assert.deepEqual(pemCertificates(two.replace(/\n/g, '\r\n'), { strict: true }), [der1, der2]);
  assert.deepEqual(pemCertificates(`\n${block(der1)}\n\n${block(der2)}`, { strict: true }), [der1, der2]);
  const refused: Array<[string, string, string]> = [
    [`${block(der1)} ${block(der2)}`, 'PEM: unexpected text between blocks', 'a space between blocks'],
    [`${block(der1)}\0${block(der2)}`, 'PEM: unexpected text between blocks', 'a NUL between blocks'],
    [`${two}\0\0`, 'PEM: unexpected trailing text', 'two NULs after'],
    [`${two} `, 'PEM: unexpected trailing text', 'a space after'],
    [`${two}\0\n`, 'PEM: unexpected trailing text', 'a newline after the NUL'],
    [block(der1).replace('MAMCAQc=', ' MAMCAQc='), 'PEM: malformed lines', 'a space in a line'],
    [block(der1).replace('-----\nMAMCAQc=', '-----MAMCAQc='), 'PEM: malformed lines', 'no newline after BEGIN'],
    [block(der1).replace('\n-----END', '-----END'), 'PEM: malformed lines', 'no newline before END'],
    [block(der1).replace('MAMCAQc=', 'MAMC\n\nAQc='), 'PEM: malformed lines', 'an empty line'],
  ];
  for (const [text, message, what] of refused) {
    assert.throws(() => pemCertificates(text, { strict: true }), { code: 'ERR_PEM', message }, what);
  }
  // The liberal reader takes what strict refuses for its whitespace.
  assert.deepEqual(pemCertificates(`${block(der1)} ${block(der2)}`), [der1, der2]);
  assert.deepEqual(pemCertificates(block(der1).replace('MAMCAQc=', ' MAMCAQc=')), [der1]);
});

test('pemBlocks: refusals in either mode', () => {
  const refused: Array<[string, string]> = [
    [`x${block(der1)}`, 'PEM: unexpected text between blocks'],
    [`${block(der1)}x`, 'PEM: unexpected trailing text'],
    [block(der1, 'X509 CRL'), 'PEM: unexpected X509 CRL block (expected CERTIFICATE)'],
    [block(der1).replace('MAMCAQc=', 'MAMCAQd='), 'PEM: base64 is not canonical'],
    [block(der1).replace('MAMCAQc=', 'MAMCAQc'), 'PEM: base64 is not canonical'],
    ['-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n', 'PEM: base64 is not canonical'],
  ];
  for (const [text, message] of refused) {
    assert.throws(() => pemCertificates(text), { code: 'ERR_PEM', message }, text);
  }
  assert.throws(() => pemCertificates('-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n', { strict: true }), {
    code: 'ERR_PEM',
    message: 'PEM: malformed lines',
  });
});

test('derFromAny: DER as is, one PEM block, hex text; anything else unchanged', () => {
  const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
  assert.equal(derFromAny(der1, 'X'), der1);
  assert.deepEqual(derFromAny(bytes(`  ${block(der1, 'X509 CRL')}\n`), 'X509 CRL'), der1);
  assert.throws(() => derFromAny(bytes(block(der1, 'X') + block(der2, 'X')), 'X'), {
    code: 'ERR_PEM',
    message: 'PEM: expected one X, got 2',
  });
  assert.throws(() => derFromAny(bytes(block(der1, 'Y')), 'X'), { code: 'ERR_PEM' });
  assert.deepEqual(derFromAny(bytes('\n3003020107\n'), 'X'), der1);
  assert.deepEqual(derFromAny(bytes('3003020107'.toUpperCase()), 'X'), der1);
  assert.throws(() => derFromAny(bytes('-----BEGIN X'), 'X'), {
    code: 'ERR_PEM',
    message: 'PEM: unexpected trailing text',
  });
  for (const other of ['300302010', 'zz', '', '30 03', ' -----BEGI']) {
    const b = bytes(other);
    assert.equal(derFromAny(b, 'X'), b, JSON.stringify(other));
  }
  // Bytes that start with 0x30 are DER even when they read as hex text ("0a" is 0x30 0x61).
  const zeroA = bytes('0a');
  assert.equal(derFromAny(zeroA, 'X'), zeroA);
  assert.deepEqual(certificatesFromAny(zeroA), [zeroA]);
  const empty = new Uint8Array(0);
  assert.equal(derFromAny(empty, 'X'), empty);
});

test('certificatesFromAny: one DER certificate, or every PEM block', () => {
  assert.deepEqual(certificatesFromAny(der1), [der1]);
  assert.equal(certificatesFromAny(der1)[0], der1);
  assert.deepEqual(certificatesFromAny(new Uint8Array(Buffer.from(block(der1) + block(der2)))), [der1, der2]);
  assert.deepEqual(certificatesFromAny(new Uint8Array(0)), []);
});
