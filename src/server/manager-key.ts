import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hex } from '../bytes/util.ts';
import { generateP256, p256PublicRaw, p256Verify, type P256KeyPair } from '../crypto/ecdsa.ts';
import { KeyFileError, readPrivateKeyFile, writeNewKeyFile } from '../crypto/key-file.ts';
import { sha256 } from '../crypto/sha256.ts';
import { checkpointSigningBytes } from '../store/audit-hash.ts';
import type { Checkpoint } from '../store/types.ts';

/**
 * The manager's P-256 key: owner of the chains it creates (signs headers, first links,
 * revocations), signer of audit checkpoints and of EAR results. Kept as PKCS#8 PEM (mode 0600);
 * replicas sharing a database share this file.
 */
export async function loadOrCreateManagerKey(path: string): Promise<P256KeyPair> {
  // A key file that exists but cannot be read or parsed stops here (KeyFileError): never replaced.
  const existing = await readPrivateKeyFile(path);
  if (existing) return { privateKey: existing, publicKey: createPublicKey(existing) };
  const kp = generateP256();
  try {
    await writeNewKeyFile(path, kp.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    return kp;
  } catch (e) {
    // Another replica won the race and wrote its key first: whatever is on disk is the key.
    if (!(e instanceof KeyFileError && e.code === 'ERR_KEY_FILE_EXISTS')) throw e;
    const privateKey = await readPrivateKeyFile(path);
    if (!privateKey) throw e;
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
}

/** Reads a public key from a PEM file holding either half (the manager key file, or its public export). */
export async function readPublicKey(path: string): Promise<KeyObject> {
  const text = await readFile(path, 'utf8');
  return text.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(text)) : createPublicKey(text);
}

/** Key id of a manager key: the first 16 bytes of SHA-256 of its raw public key (X‖Y), hex. */
export function managerKeyId(publicKey: KeyObject): string {
  return hex(sha256(p256PublicRaw(publicKey))).slice(0, 32);
}

/** A checkpoint verifier for verifyAuditLog: signatures are base64url raw r‖s over checkpointSigningBytes. */
export function checkpointVerifier(publicKey: KeyObject): (cp: Checkpoint) => boolean {
  const kid = managerKeyId(publicKey);
  return (cp) =>
    cp.keyId === kid && p256Verify(publicKey, checkpointSigningBytes(cp), Buffer.from(cp.signature, 'base64url'));
}
