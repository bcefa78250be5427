import { describe, expect, it } from 'vitest';
import { HandlerRegistry } from '../../lib/router/handler.registry.js';

const source = (name: string) => ({ name, handler: async () => name });

describe('HandlerRegistry', () => {
  it("keeps each pattern's presence option (off unless declared)", () => {
    const registry = new HandlerRegistry();
    registry.addChannel('room/:id', source('Gateway.room'), { presence: true });
    registry.addChannel('news', source('Gateway.news'));
    expect(registry.matchChannel('room/1')?.route.presence).toBe(true);
    expect(registry.matchChannel('news')?.route.presence).toBe(false);
  });

  it('matches exact channels first, then patterns in declaration order', () => {
    const registry = new HandlerRegistry();
    registry.addChannel('room/:id', source('Gateway.room'));
    registry.addChannel('room/lobby', source('Gateway.lobby'));
    registry.addChannel('files/*path', source('Gateway.files'));
    expect(registry.matchChannel('room/lobby')?.route.name).toBe('Gateway.lobby');
    expect(registry.matchChannel('room/42')).toMatchObject({ route: { name: 'Gateway.room' }, params: { id: '42' } });
    expect(registry.matchChannel('room/42/extra')).toBeUndefined();
    expect(registry.matchChannel('files/a/b')?.route.name).toBe('Gateway.files');
    expect(registry.matchChannel('room%2F1')).toBeUndefined();
  });

  it('matches exactly: case-sensitive, no trailing slash', () => {
    const registry = new HandlerRegistry();
    registry.addChannel('rooms/private', source('Gateway.private'));
    registry.addChannel('room/:id', source('Gateway.room'));
    registry.addChannel('files/*path', source('Gateway.files'));
    expect(registry.matchChannel('rooms/private')?.route.name).toBe('Gateway.private');
    for (const channel of ['ROOMS/private', 'rooms/private/', 'Rooms/Private', 'ROOM/42', 'room/42/', 'FILES/a']) {
      expect(registry.matchChannel(channel), channel).toBeUndefined();
    }
    expect(registry.matchChannel('room/AbC')?.params).toEqual({ id: 'AbC' });
  });

  it('keeps channel params undecoded', () => {
    const registry = new HandlerRegistry();
    registry.addChannel('room/:id', source('Gateway.room'));
    expect(registry.matchChannel('room/a%20b')?.params).toEqual({ id: 'a%20b' });
  });

  it('refuses duplicate topics and patterns with the names of both handlers', () => {
    const registry = new HandlerRegistry();
    registry.addAsk('time', source('A.time'));
    expect(() => registry.addAsk('time', source('B.time'))).toThrow(/A\.time and B\.time/);
    registry.addTell('like', source('A.like'));
    expect(() => registry.addTell('like', source('B.like'))).toThrow(/twice/);
    registry.addChannel('room/:id', source('A.room'));
    expect(() => registry.addChannel('room/:id', source('B.room'))).toThrow(/twice/);
  });

  it('explains an invalid pattern', () => {
    expect(() => new HandlerRegistry().addChannel('room/:', source('A.bad'))).toThrow(/not a valid pattern/);
  });
});
