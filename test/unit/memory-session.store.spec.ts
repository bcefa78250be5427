import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_SESSION_KEYS, MemorySessionStore, SessionDataError } from '../../lib/index.js';

describe('MemorySessionStore', () => {
  const store = new MemorySessionStore();

  afterEach(() => {
    vi.useRealTimers();
    store.close();
  });

  it('keeps copies of JSON values per session until their TTL passes', async () => {
    vi.useFakeTimers();
    const value = { items: [1] };
    await store.set('s1', 'cart', value, 1_000);
    value.items.push(2);
    expect(await store.get('s1', 'cart')).toEqual({ items: [1] });
    expect(await store.get('s2', 'cart')).toBeUndefined();
    vi.advanceTimersByTime(999);
    expect(await store.get('s1', 'cart')).toEqual({ items: [1] });
    await store.set('s1', 'cart', 'renewed', 1_000);
    vi.advanceTimersByTime(999);
    expect(await store.get('s1', 'cart')).toBe('renewed');
    vi.advanceTimersByTime(1);
    expect(await store.get('s1', 'cart')).toBeUndefined();
    await store.set('s1', 'other', 1);
    await store.delete('s1', 'other');
    expect(await store.get('s1', 'other')).toBeUndefined();
  });

  it('refuses what it cannot keep with SessionDataError', async () => {
    vi.useFakeTimers();
    await expect(store.set('s', 'k', undefined)).rejects.toThrow(SessionDataError);
    await expect(store.set('s', 'k', 10n)).rejects.toThrow(/cannot be stored as JSON/);
    await expect(store.set('s', 'k', 'é'.repeat(40_000))).rejects.toThrow(/larger than 65536 bytes/);
    await expect(store.set('s', 'k', 1, 0)).rejects.toThrow(/ttlMs/);
    await expect(store.set('s', 'k'.repeat(129), 1)).rejects.toThrow(/key/);
    await expect(store.get('', 'k')).rejects.toThrow(/session id/);
    for (let index = 0; index < MAX_SESSION_KEYS; index++) await store.set('s', `k${index}`, index, 1_000);
    await expect(store.set('s', 'more', 1)).rejects.toThrow(/already holds 100 keys/);
    await store.set('s', 'k0', 'replaced');
    vi.advanceTimersByTime(1_000);
    await store.set('s', 'more', 1);
    expect(await store.get('s', 'more')).toBe(1);
  });
});
