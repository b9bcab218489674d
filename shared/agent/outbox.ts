import * as z from 'zod';
import { AgentMessage } from '../contracts/agent.ts';
import { JsonFile } from './state.ts';

/** Observation messages (one per link and round) kept while offline; older ones go first (stale to the engine). */
export const MAX_QUEUED_OBSERVATIONS = 120;
/** Acks and autonomy reports kept; far more than an agent produces while offline. */
export const MAX_QUEUED_REPORTS = 5000;

const Entry = z.object({ seq: z.number().int(), message: AgentMessage });
const OutboxDoc = z.object({ v: z.literal(1), entries: z.array(Entry) });
export type OutboxEntry = z.infer<typeof Entry>;

/**
 * Messages for the control plane that wait for a connection: acks, autonomy reports and observations, in order,
 * kept in the state directory so that none is lost across a restart. A message leaves the outbox only once sent.
 */
export class Outbox {
  readonly #file: JsonFile<z.infer<typeof OutboxDoc>>;
  #entries: OutboxEntry[] = [];
  #seq = 0;
  #dropped = 0;

  private constructor(file: JsonFile<z.infer<typeof OutboxDoc>>) {
    this.#file = file;
  }

  static async open(dir: string, onCorrupt?: (message: string) => void): Promise<Outbox> {
    const outbox = new Outbox(new JsonFile(dir, 'outbox.json', OutboxDoc));
    const doc = await outbox.#file.read(onCorrupt);
    outbox.#entries = doc?.entries ?? [];
    outbox.#seq = Math.max(0, ...outbox.#entries.map((e) => e.seq));
    return outbox;
  }

  /** Queues a message; resolves once it is on disk. Returns how many old observation messages were dropped. */
  async push(message: AgentMessage): Promise<number> {
    this.#entries.push({ seq: ++this.#seq, message });
    const dropped = this.#bound();
    await this.#persist();
    return dropped;
  }

  /** The oldest `max` entries, still queued. */
  peek(max: number): OutboxEntry[] {
    return this.#entries.slice(0, max);
  }

  /** Removes entries that were delivered. */
  async remove(entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const gone = new Set(entries.map((e) => e.seq));
    this.#entries = this.#entries.filter((e) => !gone.has(e.seq));
    await this.#persist();
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Observation messages dropped because the queue was full, since the start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.#file.flushed();
  }

  #bound(): number {
    let dropped = 0;
    const isObservations = (e: OutboxEntry) => e.message.type === 'observations';
    const drop = (pick: (e: OutboxEntry) => boolean, max: number) => {
      while (this.#entries.filter(pick).length > max) {
        this.#entries.splice(this.#entries.findIndex(pick), 1);
        dropped++;
      }
    };
    drop(isObservations, MAX_QUEUED_OBSERVATIONS);
    drop((e) => !isObservations(e), MAX_QUEUED_REPORTS);
    this.#dropped += dropped;
    return dropped;
  }

  #persist(): Promise<void> {
    return this.#file.write({ v: 1, entries: this.#entries });
  }
}
