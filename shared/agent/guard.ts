import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { CommandAck, SignedCommand, type REFUSALS } from '../contracts/agent.ts';
import { verifyCommand } from '../contracts/agent-signing.ts';
import { JsonFile } from './state.ts';

export type Refusal = (typeof REFUSALS)[number];

/** Tolerated difference between the control plane's clock and ours, on `issuedAt` only. */
export const CLOCK_SKEW_MS = 30_000;
// Seen ids outlive their command's expiry by a day, so that a clock set back cannot revive an expired command.
const KEEP_AFTER_EXPIRY_MS = 86_400_000;
const MAX_SEEN = 10_000;
/** The output kept with a remembered ack, so that the file stays small; the first ack carried all of it. */
const KEPT_OUTPUT_CHARS = 1024;

const SeenDoc = z.object({
  v: z.literal(1),
  entries: z.array(
    z.object({
      id: z.string(),
      nonce: z.string(),
      expiresAt: z.number(),
      /** The answer this agent gave; absent while the action runs (or when the agent died during it). */
      ack: z.optional(CommandAck),
    }),
  ),
});
type SeenEntry = z.infer<typeof SeenDoc>['entries'][number];

/**
 * Commands already accepted (id, nonce, expiry, and the ack once there is one), kept in the state directory so that
 * a restart forgets none.
 */
export class SeenStore {
  readonly #file: JsonFile<z.infer<typeof SeenDoc>>;
  /** By nonce. */
  readonly #entries = new Map<string, SeenEntry>();

  private constructor(file: JsonFile<z.infer<typeof SeenDoc>>) {
    this.#file = file;
  }

  /** Opens (or starts) `seen-commands.json` in `dir`, dropping entries long expired. */
  static async open(dir: string, now: number, onCorrupt?: (message: string) => void): Promise<SeenStore> {
    const store = new SeenStore(new JsonFile(dir, 'seen-commands.json', SeenDoc));
    const doc = await store.#file.read(onCorrupt);
    for (const entry of doc?.entries ?? []) store.#add(entry);
    store.#prune(now);
    return store;
  }

  /**
   * Whether this command was accepted before: its nonce was seen. Only the control plane can sign a fresh nonce, so
   * a known id with a new nonce is a new issue (a local runtime restarted without its data re-uses ids), not a replay.
   */
  has(nonce: string): boolean {
    return this.#entries.has(nonce);
  }

  /** The command accepted with this nonce: its id and, once it has finished, its ack. */
  get(nonce: string): { readonly id: string; readonly ack: CommandAck | undefined } | undefined {
    const entry = this.#entries.get(nonce);
    return entry && { id: entry.id, ack: entry.ack };
  }

  /** Records a command as seen; resolves once that is on disk. */
  async record(id: string, nonce: string, expiresAt: number, now: number): Promise<void> {
    this.#add({ id, nonce, expiresAt });
    this.#prune(now);
    await this.#file.write({ v: 1, entries: [...this.#entries.values()] });
  }

  /**
   * Remembers the ack of a recorded command (its output shortened), so that a resend of the command is answered with
   * it instead of running again; resolves once that is on disk. Nothing for a nonce that is not recorded.
   */
  async complete(nonce: string, ack: CommandAck): Promise<void> {
    const entry = this.#entries.get(nonce);
    if (!entry) return;
    const output = ack.output === undefined ? {} : { output: ack.output.slice(-KEPT_OUTPUT_CHARS) };
    this.#add({ ...entry, ack: { ...ack, ...output } });
    await this.#file.write({ v: 1, entries: [...this.#entries.values()] });
  }

  get size(): number {
    return this.#entries.size;
  }

  #add(entry: SeenEntry): void {
    this.#entries.set(entry.nonce, entry);
  }

  #prune(now: number): void {
    const keep = [...this.#entries.values()]
      .filter((e) => e.expiresAt + KEEP_AFTER_EXPIRY_MS > now)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .slice(-MAX_SEEN);
    this.#entries.clear();
    for (const e of keep) this.#add(e);
  }
}

/** Whether a command may run, and if not, why (the reason and a sentence for the ack). */
export type Verdict =
  | { readonly ok: true; readonly command: SignedCommand }
  | {
      readonly ok: false;
      readonly reason: Refusal;
      readonly detail: string;
      readonly commandId: string | undefined;
      /**
       * The command is one this agent accepted before, sent again (the control plane resends until it hears an ack):
       * the ack it gave then, to be sent again; undefined when the agent stopped before it finished (outcome unknown).
       */
      readonly repeat?: { readonly ack: CommandAck | undefined };
    };

export interface GuardOptions {
  readonly site: string;
  /** The control plane's command signing key. */
  readonly publicKey: KeyObject;
  readonly actions: ReadonlySet<string>;
  readonly seen: SeenStore;
  readonly now: number;
}

/**
 * Judges a command as received: malformed, bad signature, another site's, expired (or issued too far in the
 * future), an action this agent does not have, or seen before. Accepted commands are recorded as seen before this
 * resolves, so that a crash while the action runs cannot let the same command run twice. A command seen before with
 * the same id and nonce is a resend of the control plane (it resends until it hears an ack): refused as `replayed`
 * with `repeat`, the earlier ack, so that the agent answers it again without running anything.
 */
export async function guardCommand(raw: unknown, options: GuardOptions): Promise<Verdict> {
  const id = idOf(raw);
  const refuse = (reason: Refusal, detail: string) => ({ ok: false, reason, detail, commandId: id }) as const;
  const parsed = SignedCommand.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return refuse('malformed', `malformed command: ${where}${issue?.message ?? 'invalid'}`);
  }
  const command = parsed.data;
  if (!verifyCommand(command, options.publicKey))
    return refuse('bad-signature', "the signature does not verify with the control plane's public key");
  if (command.site !== options.site)
    return refuse('wrong-site', `the command is for site "${command.site}", this agent is site "${options.site}"`);
  const expiresAt = Date.parse(command.expiresAt);
  const issuedAt = Date.parse(command.issuedAt);
  if (options.now > expiresAt) return refuse('expired', `the command expired at ${command.expiresAt}`);
  if (issuedAt > options.now + CLOCK_SKEW_MS)
    return refuse(
      'expired',
      `the command is issued at ${command.issuedAt}, more than ${CLOCK_SKEW_MS / 1000} s ahead of this agent's clock (${new Date(options.now).toISOString()}): check both clocks`,
    );
  // Before the seen check: a refusal that runs nothing needs no memory, and a resend gets the same answer.
  if (!options.actions.has(command.action))
    return refuse(
      'unknown-action',
      `no action "${command.action}" is configured (configured: ${[...options.actions].join(', ') || 'none'})`,
    );
  const seen = options.seen.get(command.nonce);
  if (seen && seen.id !== command.id)
    return refuse('replayed', `the nonce of command ${command.id} was already used by command ${seen.id}`);
  if (seen) {
    const detail = seen.ack
      ? `command ${command.id} was received before and ${seen.ack.status}: not run again`
      : `command ${command.id} was received before this agent stopped, and whether its action finished is unknown: not run again; check the site`;
    return { ...refuse('replayed', detail), repeat: { ack: seen.ack } };
  }
  await options.seen.record(command.id, command.nonce, expiresAt, options.now);
  return { ok: true, command };
}

/** The id of a command as received, if it has a usable one (an ack needs it). */
function idOf(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : undefined;
}
