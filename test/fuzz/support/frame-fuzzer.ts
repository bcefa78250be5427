import { MAX_FRAME_DEPTH } from '../../../lib/index.js';
import type { Prng } from './prng.js';

/** What the server must answer to one generated frame, by the rules of PROTOCOL.md. */
export type Expectation =
  /** `err` without an id, with this code. */
  | { kind: 'idless'; code: string }
  /**
   * Something with this id; `code` when the protocol fixes it. `optional` for `sub`: an `unsub`
   * of the same channel while it is pending leaves it unanswered (PROTOCOL.md, Requests and ids).
   */
  | { kind: 'id'; id: number; code?: string; optional?: boolean }
  | { kind: 'pong' };

export interface FuzzFrame {
  payload: string | Buffer;
  binary: boolean;
  expect: Expectation;
}

// Ask and tell topics of the fixture gateways (and some that do not exist); handlers that sleep,
// boot the socket or build huge values are left out: the suite is about the input path.
const TOPICS = [
  'echo',
  'echoProperty',
  'promise',
  'observable',
  'wsError',
  'httpError',
  'sssError',
  'whoami',
  'guarded',
  'intercepted',
  'filtered',
  'like',
  'guardedTell',
  'interceptedTell',
  'filteredTell',
  'tellMe',
  'subscriptions',
  'serverTime',
  'publish',
  'hostile.echo',
  'hostile.validated',
  'hostile.bigint',
  'hostile.circular',
  'hostile.toJSON',
  'nope',
  'ECHO',
];
const CHANNELS = [
  'news',
  'room/1',
  'room/secret',
  'ROOM/secret',
  'room/secret/',
  'validated/1',
  'denied',
  'interceptedChannel',
  'filteredChannel',
  'throwingChannel',
  'hostile/bigint',
  '$user/ann',
  '',
  'nope/nope',
];
const TYPES = ['ask', 'tell', 'sub', 'unsub', 'ping', 'auth'];
const DEEP_PLACEHOLDER = 'DEEP-VALUE-PLACEHOLDER';

/** Generates random and mutated client frames, each with the answer the protocol prescribes. */
export class FrameFuzzer {
  private nextId = 1;
  private readonly usedIds = new Set<number>();

  constructor(private readonly random: Prng) {}

  /** A frame for one socket; ids are unique per fuzzer, so use one fuzzer per socket. */
  frame(): FuzzFrame {
    const roll = this.random.next();
    if (roll < 0.05) return this.binaryFrame();
    let text: string;
    if (roll < 0.4) text = JSON.stringify(this.validFrame());
    else if (roll < 0.65) text = JSON.stringify(this.corruptedFrame());
    else if (roll < 0.8) text = this.deepFrame();
    else if (roll < 0.95) text = this.mutate(JSON.stringify(this.validFrame()));
    else text = JSON.stringify(this.random.pick([42, 'ask', null, [1, 2], true, -0.5, {}]));
    return this.classify(text);
  }

  /** A valid-looking frame of a random type. */
  private validFrame(): Record<string, unknown> {
    const t = this.random.chance(0.05) ? this.random.string(12) : this.random.pick(TYPES);
    const frame: Record<string, unknown> = { t, id: this.nextId++ };
    if (t === 'ask' || t === 'tell') {
      frame.topic = this.random.pick(TOPICS);
      if (this.random.chance(0.8)) frame.data = this.value(3);
    } else if (t === 'sub' || t === 'unsub') {
      frame.channel = this.random.chance(0.9) ? this.random.pick(CHANNELS) : this.random.string(40);
      if (t === 'sub' && this.random.chance(0.5)) frame.query = this.value(2);
      if (t === 'sub' && this.random.chance(0.3)) {
        frame.since = this.random.chance(0.7)
          ? { epoch: this.random.string(8), seq: this.random.int(0, 5) }
          : this.value(2);
      }
    } else if (t === 'ping') {
      delete frame.id;
    } else if (t === 'auth') {
      frame.credential = this.random.chance(0.8) ? this.random.string(40) : this.value(2);
    }
    return frame;
  }

  /** A valid frame with one field replaced by a value of any type. */
  private corruptedFrame(): Record<string, unknown> {
    const frame = this.validFrame();
    const field = this.random.pick(['t', 'id', 'topic', 'data', 'channel', 'query', 'since', 'credential', 'extra']);
    frame[field] = this.random.chance(0.3)
      ? this.random.pick([null, -1, 0, 1.5, 2 ** 53, '', '1', [], {}])
      : this.value(3);
    return frame;
  }

  /** A valid frame with a field nested deeper (or not quite) than MAX_FRAME_DEPTH. */
  private deepFrame(): string {
    const frame = this.validFrame();
    const field = this.random.pick(['t', 'id', 'topic', 'data', 'channel', 'query', 'since']);
    // Mostly around the limit, where an off-by-one would show; sometimes far beyond it.
    const roll = this.random.next();
    const depth =
      roll < 0.7
        ? this.random.int(MAX_FRAME_DEPTH - 3, MAX_FRAME_DEPTH + 3)
        : roll < 0.95
          ? this.random.int(MAX_FRAME_DEPTH, 500)
          : this.random.int(500, 8_000);
    const [open, close] = this.random.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
    const deep = open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth);
    frame[field] = DEEP_PLACEHOLDER;
    return JSON.stringify(frame).replace(`"${DEEP_PLACEHOLDER}"`, deep);
  }

  private binaryFrame(): FuzzFrame {
    const bytes = Buffer.alloc(this.random.int(0, 64));
    for (let index = 0; index < bytes.length; index++) bytes[index] = this.random.int(0, 255);
    return { payload: bytes, binary: true, expect: { kind: 'idless', code: 'BAD_FRAME' } };
  }

  /** Byte-level damage: truncation, changed or inserted characters, duplicated slices. */
  private mutate(text: string): string {
    let result = text;
    const edits = this.random.int(1, 3);
    for (let edit = 0; edit < edits; edit++) {
      const at = this.random.int(0, result.length);
      switch (this.random.int(0, 3)) {
        case 0:
          result = result.slice(0, at);
          break;
        case 1:
          result =
            result.slice(0, at) +
            this.random.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '0', 'x']) +
            result.slice(at + 1);
          break;
        case 2:
          result = result.slice(0, at) + this.random.string(6) + result.slice(at);
          break;
        default:
          result = result.slice(0, at) + result.slice(this.random.int(0, at), at) + result.slice(at);
      }
    }
    return result;
  }

  /** A random JSON value, sometimes big. */
  private value(depth: number): unknown {
    const roll = this.random.next();
    if (depth <= 0 || roll < 0.4) {
      return this.random.pick([
        () => this.random.int(-1e6, 1e6),
        () => this.random.string(20),
        () => this.random.chance(0.5),
        () => null,
        () => this.random.next() * 1e300,
        () => (this.random.chance(0.01) ? 'x'.repeat(this.random.int(1_000, 10_000)) : 'y'),
      ])();
    }
    if (roll < 0.7) return Array.from({ length: this.random.int(0, 5) }, () => this.value(depth - 1));
    const record: Record<string, unknown> = {};
    for (let index = this.random.int(0, 5); index > 0; index--) record[this.random.string(8)] = this.value(depth - 1);
    return record;
  }

  /**
   * The protocol's answer to `text`, worked out independently of the server's code: JSON.parse,
   * then the checks of PROTOCOL.md ("The server checks each frame in this order") with an
   * iterative depth count of the parsed value.
   */
  private classify(text: string): FuzzFrame {
    const frame = (expect: Expectation): FuzzFrame => ({ payload: text, binary: false, expect });
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return frame({ kind: 'idless', code: 'BAD_FRAME' });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return frame({ kind: 'idless', code: 'BAD_FRAME' });
    }
    const fields = value as Record<string, unknown>;
    const id = fields.id;
    const validId = typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
    if (validId !== undefined) {
      // A mutation may have produced an id that another frame of this socket has: not trackable,
      // so that frame becomes a ping.
      if (this.usedIds.has(validId)) return { payload: '{"t":"ping"}', binary: false, expect: { kind: 'pong' } };
      this.usedIds.add(validId);
      if (validId >= this.nextId) this.nextId = validId + 1;
    }
    const answer = (code?: string): Expectation =>
      validId === undefined ? { kind: 'idless', code: code ?? 'BAD_FRAME' } : { kind: 'id', id: validId, code };
    if (depthOf(value) > MAX_FRAME_DEPTH) return frame(answer('BAD_FRAME'));
    if (fields.t === 'ping') return frame({ kind: 'pong' });
    if (fields.t === 'ask' || fields.t === 'tell' || fields.t === 'sub' || fields.t === 'unsub') {
      if (validId === undefined) return frame({ kind: 'idless', code: 'BAD_FRAME' });
      return frame({ kind: 'id', id: validId, optional: fields.t === 'sub' });
    }
    if (fields.t === 'auth') {
      if (validId === undefined) return frame({ kind: 'idless', code: 'BAD_FRAME' });
      const { credential } = fields;
      const readable = typeof credential === 'string' && credential.length > 0 && credential.length <= 16_384;
      // The fuzzed app's connections do not expire: a readable credential has nothing to refresh.
      return frame({ kind: 'id', id: validId, code: readable ? 'BAD_REQUEST' : 'BAD_FRAME' });
    }
    return frame(answer('UNKNOWN_TYPE'));
  }
}

/** Nesting depth of a parsed JSON value, the value itself being level 1; iterative (no stack limit). */
export function depthOf(root: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(value as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return deepest;
}
