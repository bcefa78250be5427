import { describe, expect, it } from 'vitest';
import { exceedsDepth, exceedsJsonDepth } from '../../lib/router/json-depth.js';

describe('exceedsJsonDepth', () => {
  it('counts arrays and objects, the outermost value being level 1', () => {
    expect(exceedsJsonDepth('{"t":"ask","data":[[1]]}', 3)).toBe(false);
    expect(exceedsJsonDepth('{"t":"ask","data":[[1]]}', 2)).toBe(true);
    expect(exceedsJsonDepth('[{"a":{"b":[]}}]', 4)).toBe(false);
    expect(exceedsJsonDepth('[{"a":{"b":[]}}]', 3)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(exceedsJsonDepth(JSON.stringify({ s: '[[[[{{{{' }), 1)).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify({ s: 'a\\"[[[[' + '"' }), 1)).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify(['\\', [[1]]]), 2)).toBe(true);
  });

  it('measures depth, not the number of containers', () => {
    expect(exceedsJsonDepth(JSON.stringify(Array.from({ length: 1_000 }, () => [1])), 2)).toBe(false);
  });
});

describe('exceedsDepth', () => {
  it('counts arrays and objects of a parsed value, the outermost being level 1', () => {
    expect(exceedsDepth({ t: 'ask', data: [[1]] }, 3)).toBe(false);
    expect(exceedsDepth({ t: 'ask', data: [[1]] }, 2)).toBe(true);
    expect(exceedsDepth([{ a: { b: [] } }], 4)).toBe(false);
    expect(exceedsDepth([{ a: { b: [] } }], 3)).toBe(true);
    expect(exceedsDepth('[[[[', 0)).toBe(false);
    expect(exceedsDepth(null, 0)).toBe(false);
  });

  it('measures depth, not the number of containers', () => {
    expect(
      exceedsDepth(
        Array.from({ length: 1_000 }, () => [1]),
        2,
      ),
    ).toBe(false);
  });

  it('stops at the limit on a value far deeper than the stack allows', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)) as unknown;
    expect(exceedsDepth(deep, 64)).toBe(true);
  });

  it('agrees with exceedsJsonDepth on the text of random values', () => {
    let seed = 7;
    const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const build = (level: number): unknown => {
      const pick = random();
      if (level > 8 || pick < 0.3) return pick < 0.15 ? '[{"' : 1;
      if (pick < 0.65) return Array.from({ length: Math.floor(random() * 4) }, () => build(level + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`k${i}`, build(level + 1)]),
      );
    };
    for (let sample = 0; sample < 500; sample++) {
      const value = build(0);
      for (const maxDepth of [1, 2, 3, 5, 9]) {
        expect(exceedsDepth(value, maxDepth)).toBe(exceedsJsonDepth(JSON.stringify(value), maxDepth));
      }
    }
  });
});
