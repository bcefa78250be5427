const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether the JSON `text` nests arrays and objects deeper than `maxDepth` (the outermost value is
 * level 1). One pass over the characters, skipping strings, with no allocation: frames are
 * bounded by `maxFrameBytes`, so this costs at most a few microseconds per frame, and it protects
 * everything downstream (pipes, class-transformer, handlers, logs) from values that recursive code
 * cannot walk without overflowing the stack.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  // Reaching the limit takes more than maxDepth opening characters.
  if (text.length <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * Whether a parsed JSON value nests arrays and objects deeper than `maxDepth` (a top-level array
 * or object is level 1): what `exceedsJsonDepth` tells of its text, read from the value instead.
 * It visits each array and object once, stopping at the first one too deep, so it recurses at most
 * `maxDepth` + 1 levels whatever the value; strings cost nothing, however long.
 */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (maxDepth <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (exceedsDepth(item, maxDepth - 1)) return true;
    return false;
  }
  const fields = value as Record<string, unknown>;
  for (const key in fields) if (exceedsDepth(fields[key], maxDepth - 1)) return true;
  return false;
}
