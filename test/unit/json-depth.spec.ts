import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth } from '../../lib/router/json-depth.js';

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
