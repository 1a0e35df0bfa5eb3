import type { Element } from '../chain/types.ts';
import type { CotBuilder, MadeLink } from './builder.ts';
import type { SignatureLane } from './signature-lane.ts';

/**
 * Appends made links to a chain up to `depth` links behind, so that their signatures are checked on
 * another thread while the next links are made: `submit(k)` starts link k's check on the lane and,
 * with more than `depth` links waiting, appends the oldest (its verdict is ready by then). Appends stay
 * sequential and in submission order, each checked in full by the chain (LinkChecker reads the lane's
 * verdict in place of computing it), so the chain accepts, refuses and writes exactly what sequential
 * appends of the same links would. A link can name as parent only an element already appended: flush
 * first when its parent is one `holds` names (`CotBuilder.make` refuses a parent the chain does not hold).
 */
export class LinkPipeline {
  private readonly waiting: MadeLink[] = [];
  private readonly ids = new Set<string>();

  constructor(
    private readonly builder: CotBuilder,
    private readonly lane?: SignatureLane,
    private readonly depth = 8,
  ) {}

  /** Whether the element `id`'s link was submitted and is not appended yet. */
  holds(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * Starts `made`'s signature check; with more than `depth` links waiting, appends the oldest (returns
   * its element). If an append is refused, every link still waiting is dropped (never appended) and the
   * refusal thrown: as sequential appends would have stopped before making them.
   */
  async submit(made: MadeLink): Promise<Element | undefined> {
    const parent = made.link.parent;
    if (parent !== null && this.lane) this.lane.start(made.link, this.builder.handleOf(parent).elementKey);
    this.waiting.push(made);
    this.ids.add(made.link.child);
    return this.waiting.length > this.depth ? this.next() : undefined;
  }

  /** Appends every link still waiting. */
  async flush(): Promise<void> {
    this.lane?.wake();
    while (this.waiting.length) await this.next();
  }

  private async next(): Promise<Element> {
    const made = this.waiting.shift()!;
    this.ids.delete(made.link.child);
    try {
      return await this.builder.append(made);
    } catch (e) {
      for (const m of [made, ...this.waiting]) this.lane?.cancel(m.link);
      this.waiting.length = 0;
      this.ids.clear();
      throw e;
    }
  }
}
