import type { Command } from 'commander';
import { register as enclave } from './enclave.ts';
import { register as measure } from './measure.ts';
import { register as sigstruct } from './sigstruct.ts';
import { register as emulateLocalAttest } from './emulate-local-attest.ts';
import { register as emulatePcs } from './emulate-pcs.ts';
import { register as quote } from './quote.ts';
import { register as channel } from './channel.ts';
import { register as emulateQuote } from './emulate-quote.ts';
import { register as manager } from './manager.ts';
import { register as agent } from './agent.ts';
import { register as admin } from './admin.ts';
import { register as audit } from './audit.ts';
import { register as demo } from './demo.ts';
import { register as benchManager } from './bench-manager.ts';
import { register as chain } from './chain.ts';
import { register as benchVerify } from './bench-verify.ts';
import { register as benchCot } from './bench-cot.ts';
import { register as benchChannel } from './bench-channel.ts';
import { register as platform } from './platform.ts';

/** Every subcommand registers itself on the program; one file per subcommand in this folder. */
export const commands: Array<(program: Command) => void> = [enclave, measure, sigstruct, emulateLocalAttest, emulatePcs, quote, channel, emulateQuote, chain, benchVerify, benchCot, benchChannel, manager, agent, admin, audit, demo, benchManager, platform];
