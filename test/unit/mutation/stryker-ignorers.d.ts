// Types for what test/unit/mutation/ignorers.test.ts uses: the Babel that Stryker itself parses with
// (no @types package in the tree) and the ignorer plugins (plain .mjs, loaded by Stryker).
declare module '@babel/core' {
  export interface Node {
    type: string;
    start?: number | null;
    end?: number | null;
  }
  export interface NodePath {
    node: Node;
    skip(): void;
  }
  export function parseSync(code: string, opts: object): Node | null;
  export function traverse(ast: Node, visitor: { enter(path: NodePath): void }): void;
}
declare module '*/stryker/error-message-ignorer.mjs' {
  import type { NodePath } from '@babel/core';
  export const errorMessageIgnorer: { shouldIgnore(path: NodePath): string | undefined };
}
declare module '*/stryker/field-label-ignorer.mjs' {
  import type { NodePath } from '@babel/core';
  export const fieldLabelIgnorer: { shouldIgnore(path: NodePath): string | undefined };
}
declare module '*/stryker/check-detail-ignorer.mjs' {
  import type { NodePath } from '@babel/core';
  export const checkDetailIgnorer: { shouldIgnore(path: NodePath): string | undefined };
}
