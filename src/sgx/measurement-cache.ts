import { hex } from '../bytes/util.ts';
import { Lru } from '../bytes/lru.ts';
import { sha256 } from '../crypto/sha256.ts';
import { mrSignerOf, parseSigstruct, verifySigstruct } from '../formats/sigstruct.ts';
import { SgxError } from './errors.ts';
import { loadSgxs, type LoadedImage } from './layout.ts';

export interface CheckedSigstruct {
  s: ReturnType<typeof parseSigstruct>;
  ok: boolean;
  failures: string[];
  mrSigner: Uint8Array;
}

/**
 * Public-data caches of enclave launches (docs/emulated-platform.md, "measurement caching"): the
 * parsed SGXS image per MRENCLAVE and the checked SIGSTRUCT per its hash, each a bounded LRU, and the
 * SHA-256 of an image array. Owned by whoever opens the platforms — one per Platform by default, one
 * shared by the platforms of a CoT world (PlatformOptions.measurements) — never by the module.
 */
export class MeasurementCache {
  private readonly images: Lru<string, LoadedImage>;
  private readonly sigstructs: Lru<string, CheckedSigstruct>;
  /**
   * SHA-256 of an image part, remembered per Uint8Array together with a private copy of the bytes it
   * hashed: a later launch of the same array compares the bytes in full (memcmp, ~1 µs for the 27 KB
   * SGXS) instead of re-hashing them (~50 µs). Exact — an array altered in place no longer equals its
   * copy and is hashed again — and weakly held, so images that are dropped are forgotten.
   */
  private readonly measured = new WeakMap<Uint8Array, { copy: Buffer; digest: Uint8Array }>();

  /** Module files this cache's platforms wrote: path → file URL (module-store.ts). */
  readonly moduleFiles: Lru<string, string>;

  constructor(max = 512) {
    this.images = new Lru(max);
    this.sigstructs = new Lru(max);
    this.moduleFiles = new Lru(max);
  }

  measure(bytes: Uint8Array): Uint8Array {
    const m = this.measured.get(bytes);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (m && m.copy.equals(view)) return m.digest;
    const digest = sha256(bytes);
    this.measured.set(bytes, { copy: Buffer.from(view), digest });
    return digest;
  }

  /** The image measured as `mrEnclave` (hex), parsed once. */
  image(mrEnclaveHex: string, sgxs: Uint8Array): LoadedImage {
    return this.images.getOrSet(mrEnclaveHex, () => loadSgxs(sgxs));
  }

  /** The SIGSTRUCT parsed and its signature checked once per content. ERR_EINIT_SIGNATURE if unreadable. */
  sigstruct(bytes: Uint8Array): CheckedSigstruct {
    return this.sigstructs.getOrSet(hex(this.measure(bytes)), () => {
      let s;
      try {
        s = parseSigstruct(bytes);
      } catch (e) {
        throw new SgxError('ERR_EINIT_SIGNATURE', `SIGSTRUCT unreadable: ${(e as Error).message}`);
      }
      const v = verifySigstruct(s);
      return { s, ok: v.ok, failures: v.failures, mrSigner: mrSignerOf(s) };
    });
  }
}
