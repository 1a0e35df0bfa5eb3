import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';

const compiled = new WeakMap<object, ReturnType<typeof TypeCompiler.Compile>>();

/**
 * ManagerOptions.checkResponse for tests: every JSON answer must match the response schema its route
 * declares (the one /openapi.json publishes); a mismatch throws, so the request fails with 500.
 */
export function checkResponse(
  schema: unknown,
  body: unknown,
  route: { method: string; url: string; status: string },
): void {
  let c = compiled.get(schema as object);
  if (!c) compiled.set(schema as object, (c = TypeCompiler.Compile(schema as TSchema)));
  if (!c.Check(body)) {
    const first = c.Errors(body).First();
    throw new Error(
      `response of ${route.method} ${route.url} (${route.status}) does not match its schema: ${first?.path} ${first?.message}`,
    );
  }
}
