import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports from. */
function specifiers(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)/g)].map((match) => match[1] ?? match[2]!);
}

describe("the module's use of Nest", () => {
  // Nest marks `@nestjs/*/internal` as "not part of the public API", and Nest 11 has no such entry:
  // a package that imports it cannot load there, and may break on any Nest release.
  it('imports nothing from @nestjs/*/internal, and nothing of @nestjs/core but its main entry', () => {
    const offending = sources(join(root, 'lib')).flatMap((path) =>
      specifiers(path)
        .filter((specifier) => /^@nestjs\/[^/]+\/internal/.test(specifier) || /^@nestjs\/core\/./.test(specifier))
        .map((specifier) => `${relative(root, path)}: ${specifier}`),
    );
    expect(offending).toEqual([]);
  });
});
