/**
 * The top-level command names, in help order. Apart from the command table (index.ts) so that
 * `bench startup`, which index.ts loads, can time each command's help without importing the table
 * (no import cycle); a test holds the two equal.
 */
export const COMMAND_NAMES: readonly string[] = [
  'demo',
  'enclave',
  'measure',
  'sigstruct',
  'emulate',
  'quote',
  'channel',
  'chain',
  'manager',
  'agent',
  'admin',
  'audit',
  'platform',
  'bench',
];
