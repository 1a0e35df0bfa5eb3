/** The stable `code` of what `f` throws; `untyped …` for an error without one, `no error` if it returns. */
export function thrownCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped ${String(e)}`;
  }
  return 'no error';
}
