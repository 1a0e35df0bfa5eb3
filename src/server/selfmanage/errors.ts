import { CatenaError } from '../../errors.ts';

/**
 * A reaction whose actions all ran without healing the element (fresh evidence still outside the
 * policy, e.g. before the platform took its TCB update): the job is retried with backoff, then
 * dead-lettered (docs/errors.md, ERR_NOT_HEALED).
 */
export class NotHealedError extends CatenaError {
  constructor(message: string) {
    super('ERR_NOT_HEALED', message);
  }
}
