import { CatenaError } from '../../errors.ts';

/**
 * Thrown by a job handler when retrying cannot help (the input is wrong, the target is gone): the
 * job goes to `dead` at once instead of being retried (docs/errors.md, ERR_JOB_PERMANENT).
 */
export class PermanentJobError extends CatenaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_JOB_PERMANENT', message, options);
  }
}
