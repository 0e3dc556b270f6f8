/**
 * Short-lived answers to the lookups every request in a cell repeats (the cell by name, a box, a
 * WebDAV path), so a hot read costs no query at all.
 *
 * Correct on one node by construction: every write transaction bumps the generation when it starts
 * and again when it has ended (EntityStore.onWrite), and a read stores what it found only if the
 * generation did not move while it looked — so nothing read before or during a write outlives it.
 * Other nodes of a scaled-out unit see a change within TTL_MS.
 */
const TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

export class ReadCache {
  private generation = 0;
  private readonly entries = new Map<string, { value: unknown; generation: number; until: number }>();

  /** Called when a write transaction starts and when it has ended. */
  bump(): void {
    this.generation++;
    this.entries.clear();
  }

  /** The generation to pass to `set`, taken before the lookup starts. */
  mark(): number {
    return this.generation;
  }

  get<T>(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (!hit || hit.generation !== this.generation || hit.until < Date.now()) return undefined;
    return hit.value as T;
  }

  set(key: string, value: unknown, mark: number): void {
    if (mark !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, generation: mark, until: Date.now() + TTL_MS });
  }

  /** Looks `key` up, or computes and (if nothing was written meanwhile) keeps it. */
  async through<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const hit = this.get<T>(key);
    if (hit !== undefined) return hit;
    const mark = this.mark();
    const value = await compute();
    if (value !== undefined) this.set(key, value, mark);
    return value;
  }
}
