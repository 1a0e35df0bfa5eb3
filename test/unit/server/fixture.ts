import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hex } from '../../../src/bytes/util.ts';
import { enclaveElementId } from '../../../src/chain/chain.ts';
import type { ChainPolicy, CollateralBlob, Link } from '../../../src/chain/types.ts';
import { generateP256, type P256KeyPair } from '../../../src/crypto/ecdsa.ts';
import { generateVendorKey } from '../../../src/crypto/rsa3072.ts';
import type { ElementHandle } from '../../../src/cot/element.ts';
import { EmulatedWorld } from '../../../src/cot/world.ts';
import { openStore } from '../../../src/store/open-store.ts';
import type { Store } from '../../../src/store/types.ts';
import { buildManager, type ManagerOptions } from '../../../src/server/manager.ts';
import { LinkFactory } from '../../../src/server/link-factory.ts';
import { createToken } from '../../../src/server/tokens.ts';
import { checkResponse } from './check-response.ts';

/**
 * A manager on a temp SQLite file and an emulated world (2 platforms) whose enclaves produce real
 * evidence: links are made exactly as agents make them (parent enclave checks and signs).
 */
export class ManagerFixture {
  private constructor(
    readonly world: EmulatedWorld,
    readonly dir: string,
    readonly key: P256KeyPair,
    public store: Store,
    public app: FastifyInstance,
    readonly admin: string,
    readonly agent: string,
    readonly reader: string,
    readonly vendor: ReturnType<typeof generateVendorKey>,
  ) {}

  static async create(opts: Partial<ManagerOptions> = {}): Promise<ManagerFixture> {
    const world = await EmulatedWorld.create({ clouds: 1, platformsPerCloud: 2 });
    await world.collateralFor();
    const dir = await mkdtemp(join(tmpdir(), 'catena-mgr-'));
    const store = await openStore(join(dir, 'm.db'));
    const key = generateP256();
    const app = await buildManager({
      store,
      key,
      checkpointIntervalMs: 0,
      agentCheckIntervalMs: 0,
      checkResponse,
      ...opts,
    });
    await app.ready();
    const admin = (await createToken(store, 'admin')).token;
    const agent = (await createToken(store, 'agent')).token;
    const reader = (await createToken(store, 'reader')).token;
    return new ManagerFixture(world, dir, key, store, app, admin, agent, reader, generateVendorKey());
  }

  /** Closes the app and store and reopens both on the same database (a manager restart). */
  async restart(opts: Partial<ManagerOptions> = {}): Promise<void> {
    await this.app.close();
    await this.store.close();
    this.store = await openStore(join(this.dir, 'm.db'));
    this.app = await buildManager({
      store: this.store,
      key: this.key,
      checkpointIntervalMs: 0,
      agentCheckIntervalMs: 0,
      checkResponse,
      ...opts,
    });
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.store.close();
    await this.world.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  req(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, token: string | null = this.admin) {
    return this.app.inject({
      method,
      url,
      ...(body !== undefined ? { payload: body as object } : {}),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  }

  async createChain(policy: ChainPolicy = {}): Promise<string> {
    const r = await this.req('POST', '/v1/chains', {
      name: 't',
      root: hex(this.world.root),
      emulatedRoot: true,
      policy,
    });
    if (r.statusCode !== 201) throw new Error(`create chain: ${r.statusCode} ${r.body}`);
    return r.json().id as string;
  }

  load(platform: number, isvSvn = 1): Promise<ElementHandle> {
    return this.world.loadElement(platform, this.world.elementImage(this.vendor, 1, isvSvn));
  }

  /** Links made exactly as agents make them (src/server/link-factory.ts). */
  get links(): LinkFactory {
    return new LinkFactory(this.world, this.world.root);
  }

  /** The first link, unsigned, answering a manager challenge. */
  async firstLink(
    chainId: string,
    child: ElementHandle,
    nonce?: string,
  ): Promise<{ link: Link; collateral: CollateralBlob }> {
    if (!nonce) nonce = (await this.req('POST', `/v1/chains/${chainId}/challenge`, {})).json().nonce as string;
    return this.links.first(chainId, child, nonce);
  }

  localLink(
    chainId: string,
    parentId: string,
    parent: ElementHandle,
    child: ElementHandle,
    policy: ChainPolicy,
    depth: number,
  ): Promise<{ link: Link }> {
    return this.links.local(chainId, parentId, parent, child, policy, depth);
  }

  remoteLink(
    chainId: string,
    parentId: string,
    parent: ElementHandle,
    child: ElementHandle,
    policy: ChainPolicy,
    depth: number,
  ): Promise<{ link: Link; collateral: CollateralBlob }> {
    return this.links.remote(chainId, parentId, parent, child, policy, depth);
  }
}

export const elementId = (h: ElementHandle): string => enclaveElementId(h.elementKey);
