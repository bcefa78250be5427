import { describe, expect, it, vi } from 'vitest';
import { TypedEventEmitter } from '../../../lib/client/typed-event-emitter.js';

type Events = { greet: [name: string, times: number]; done: [] };

describe('TypedEventEmitter', () => {
  it('calls listeners in order with every argument', () => {
    const emitter = new TypedEventEmitter<Events>();
    const calls: string[] = [];
    emitter.on('greet', (name, times) => calls.push(`a:${name}:${times}`));
    emitter.on('greet', (name) => calls.push(`b:${name}`));
    expect(emitter.emit('greet', 'ada', 2)).toBe(true);
    expect(calls).toEqual(['a:ada:2', 'b:ada']);
  });

  it('returns false when nobody listens', () => {
    expect(new TypedEventEmitter<Events>().emit('done')).toBe(false);
  });

  it('removes a listener with the function on() returns, and with off()', () => {
    const emitter = new TypedEventEmitter<Events>();
    const first = vi.fn();
    const second = vi.fn();
    const removeFirst = emitter.on('done', first);
    emitter.on('done', second);
    removeFirst();
    emitter.off('done', second);
    emitter.emit('done');
    expect(first).not.toHaveBeenCalled();
    expect(second).not.toHaveBeenCalled();
    expect(emitter.listenerCount('done')).toBe(0);
  });

  it('calls a once() listener a single time', () => {
    const emitter = new TypedEventEmitter<Events>();
    const listener = vi.fn();
    emitter.once('done', listener);
    emitter.emit('done');
    emitter.emit('done');
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('reports a throwing listener and still calls the others', () => {
    const errors: unknown[] = [];
    const emitter = new TypedEventEmitter<Events>((error, event) => errors.push([event, error]));
    const boom = new Error('boom');
    const after = vi.fn();
    emitter.on('done', () => {
      throw boom;
    });
    emitter.on('done', after);
    expect(() => emitter.emit('done')).not.toThrow();
    expect(after).toHaveBeenCalledOnce();
    expect(errors).toEqual([['done', boom]]);
  });

  it('survives an error reporter that throws', () => {
    const emitter = new TypedEventEmitter<Events>(() => {
      throw new Error('reporter');
    });
    emitter.on('done', () => {
      throw new Error('listener');
    });
    expect(() => emitter.emit('done')).not.toThrow();
  });

  it('is not affected by listeners added or removed during an emit', () => {
    const emitter = new TypedEventEmitter<Events>();
    const late = vi.fn();
    emitter.on('done', () => emitter.on('done', late));
    emitter.emit('done');
    expect(late).not.toHaveBeenCalled();
    emitter.emit('done');
    expect(late).toHaveBeenCalledOnce();
  });
});
