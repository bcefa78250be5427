import { execFileSync } from 'node:child_process';

/**
 * How many descriptors a process may open: `hard`, the most it may ever raise its limit to
 * (`ulimit -Hn`); `soft`, its limit now (`ulimit -n`), which its children start with.
 */
export function descriptorLimit(kind: 'hard' | 'soft'): number {
  const shown = execFileSync('sh', ['-c', kind === 'hard' ? 'ulimit -Hn' : 'ulimit -n'], { encoding: 'utf8' }).trim();
  return shown === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(shown);
}
