import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 on Linux almost always). */
export function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/**
 * CPU time (user + system) a process has used so far, in µs, from /proc/<pid>/stat: the server's
 * own account, whatever the load generator does on the other core.
 */
export function processCpuMicros(pid: number, ticksPerSecond: number): number {
  const { user, system } = processCpuSplit(pid, ticksPerSecond);
  return user + system;
}

/** `processCpuMicros` split into user (JavaScript, V8, libuv) and system (kernel: sockets, epoll) time. */
export function processCpuSplit(pid: number, ticksPerSecond: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (field 14) is fields[11] and stime (field 15) fields[12].
  return {
    user: (Number(fields[11]) * 1_000_000) / ticksPerSecond,
    system: (Number(fields[12]) * 1_000_000) / ticksPerSecond,
  };
}

/** The summed CPU time of several processes, in µs. */
export function totalCpuMicros(pids: number[], ticksPerSecond: number): number {
  return pids.reduce((sum, pid) => sum + processCpuMicros(pid, ticksPerSecond), 0);
}

/** The summed user time of several processes, in µs. */
export function totalUserMicros(pids: number[], ticksPerSecond: number): number {
  return pids.reduce((sum, pid) => sum + processCpuSplit(pid, ticksPerSecond).user, 0);
}

/** Busy CPU time of the whole machine so far (every core, idle and iowait excluded), in µs. */
export function systemBusyMicros(ticksPerSecond: number): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1_000_000) / ticksPerSecond;
}

/** Read and write system calls a process has made so far (/proc/<pid>/io): how much its I/O batches. */
export function processSyscalls(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? Number.NaN);
  return { reads: field('syscr'), writes: field('syscw') };
}
