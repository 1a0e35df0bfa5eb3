import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EmulatedWorld } from '../../cot/world.ts';
import { Manufacturer } from '../../sgx/manufacturer/manufacturer.ts';
import { generateVendorKey } from '../../crypto/rsa3072.ts';
import { buildAgent } from '../../server/agent.ts';
import { callJson } from '../../server/http-json.ts';
import { listenUrl, parseListen, untilSignal } from '../../server/net.ts';
import { intFlag, printJson, say, UsageError } from '../io.ts';

/**
 * `catena agent --manager URL --cloud NAME --platforms N --manufacturer DIR`: hosts N emulated
 * platforms (QE/PCE each) of one cloud, registers with the manager (registration token from
 * --token or CATENA_AGENT_TOKEN) and serves the agent API until SIGINT/SIGTERM.
 * Every agent must share one emulated manufacturer: DIR is a manufacturer saved with
 * Manufacturer.save (catena demo writes one; `catena emulate pcs --data DIR` too).
 */
export function register(program: Command): void {
  program
    .command('agent')
    .description('host emulated SGX platforms of one cloud and perform attestations for the CoT manager')
    .requiredOption('--manager <url>', 'manager base URL')
    .requiredOption('--cloud <name>', 'cloud name')
    .requiredOption('--manufacturer <dir>', 'emulated manufacturer directory (shared by every agent)')
    .option('--platforms <n>', 'platforms to host', '1')
    .option('--listen <host:port>', 'agent API address (loopback)', '127.0.0.1:0')
    .option('--token <token>', 'agent registration token (default: $CATENA_AGENT_TOKEN)')
    .option('--vendor-key <pem>', 'RSA-3072 key signing the element enclave (default: a fresh one)')
    .option('--id <id>', 'agent id (default: agent-<cloud>)')
    .option('--json', 'print one JSON document {id, url, cloud, platforms} once registered')
    .action(async (o: { manager: string; cloud: string; manufacturer: string; platforms: string; listen: string; token?: string; vendorKey?: string; id?: string; json?: boolean }) => {
      const n = intFlag('platforms', o.platforms, 1, 64);
      let listen;
      try {
        listen = parseListen(o.listen);
      } catch (e) {
        throw new UsageError(`--listen: ${(e as Error).message}`);
      }
      const token = o.token ?? process.env.CATENA_AGENT_TOKEN;
      if (!token) throw new UsageError('an agent token is required: --token or CATENA_AGENT_TOKEN (catena admin token create --role agent)');
      const vendorKey = o.vendorKey ? createPrivateKey(await readFile(o.vendorKey, 'utf8')) : generateVendorKey();
      const manufacturer = await Manufacturer.load(o.manufacturer);
      const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: n, cloudNames: [o.cloud], manufacturer });
      await world.collateralFor();
      const id = o.id ?? `agent-${o.cloud}`;
      const app = buildAgent({ world, cloud: o.cloud, vendorKey, id });
      try {
        const url = await listenUrl(app, listen.host, listen.port);
        const platforms = world.platforms.map((p, index) => ({ index, ppid: p.ppid }));
        await callJson(`${o.manager.replace(/\/+$/, '')}/v1/agents`, { body: { id, cloud: o.cloud, url, platforms }, token });
        if (o.json) printJson({ id, url, cloud: o.cloud, platforms });
        else {
          say(false, `agent ${id} (${o.cloud}) listening on ${url}, registered with ${o.manager}`);
          for (const p of platforms) say(false, `  platform ${p.index}: PPID ${p.ppid}`);
        }
        // Started by a parent that may die without signalling (catena demo): exit when stdin closes.
        const stdinClosed = process.env.CATENA_EXIT_WITH_STDIN === '1' ? new Promise<void>((r) => { process.stdin.once('end', r).once('close', r); process.stdin.resume(); }) : new Promise<void>(() => {});
        await Promise.race([untilSignal(), stdinClosed]);
      } finally {
        await app.close();
        await world.close();
      }
    });
}
