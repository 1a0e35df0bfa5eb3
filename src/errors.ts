/**
 * Every error Catena throws is a CatenaError with a stable `code` (documented in docs/errors.md).
 * Layers subclass it; callers branch on `code`, never on the message.
 */
export class CatenaError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Malformed bytes or text: wrong length, trailing data, bad field value. */
export class FormatError extends CatenaError {
  constructor(message: string, code = 'ERR_FORMAT') {
    super(code, message);
  }
}

/** A caller passed an argument of the wrong shape (a bug in the caller, not bad evidence). */
export class ArgumentError extends CatenaError {
  constructor(message: string, code = 'ERR_ARGUMENT') {
    super(code, message);
  }
}
