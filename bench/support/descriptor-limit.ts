import { execFileSync } from 'node:child_process';

/** The most descriptors a process may open here: the hard `RLIMIT_NOFILE` (`ulimit -Hn`). */
export function descriptorHardLimit(): number {
  const shown = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return shown === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(shown);
}

/** The descriptors a process may open now (`ulimit -n`); its children start with the same. */
export function descriptorSoftLimit(): number {
  const shown = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  return shown === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(shown);
}
