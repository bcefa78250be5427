import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../support/free-port.js';
import { findExecutable, ManagedProcess } from '../support/managed-process.js';

/**
 * nginx as a round-robin balancer without stickiness in front of the instances, configured as
 * scripts/scaled-sample.sh does (WebSocket upgrade headers passed on, a temp folder for its
 * configuration and logs, stopped by its own PID). A refused connect moves on to the next upstream
 * at once (`proxy_next_upstream error`, nginx's default), so a killed instance costs its clients
 * nothing but a refused connect on 127.0.0.1.
 *
 * `maxFails` > 0 also marks an upstream down for `failTimeoutSeconds` after that many failures, as
 * scaled-sample.sh does with `max_fails=1 fail_timeout=2s`. NOTE: with long-lived WebSockets nginx
 * then lets only about one connection every `failTimeoutSeconds` through to a restarted upstream and
 * answers the rest `502` ("no live upstreams") once every upstream has failed once; in the soak that
 * kept clients from reconnecting for a minute, so it is off by default (see RELIABILITY.md).
 */
export class NginxBalancer {
  private constructor(
    readonly port: number,
    private readonly process: ManagedProcess,
    private readonly directory: string,
  ) {}

  static async start(upstreamPorts: number[], maxFails = 0, failTimeoutSeconds = 2): Promise<NginxBalancer> {
    const executable = findExecutable('nginx', ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin']);
    if (!executable) {
      throw new Error('nginx is not installed. Install it (Debian: apt-get install nginx) and run the soak again.');
    }
    const port = await freePort();
    const directory = mkdtempSync(join(tmpdir(), 'sss-soak-nginx-'));
    const upstreams = upstreamPorts
      .map((upstream) => `    server 127.0.0.1:${upstream} max_fails=${maxFails} fail_timeout=${failTimeoutSeconds}s;`)
      .join('\n');
    writeFileSync(
      join(directory, 'nginx.conf'),
      `worker_processes 1;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${directory}/body;
  proxy_temp_path ${directory}/proxy;
  fastcgi_temp_path ${directory}/fastcgi;
  uwsgi_temp_path ${directory}/uwsgi;
  scgi_temp_path ${directory}/scgi;
  upstream instances {
${upstreams}
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://instances;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_connect_timeout 2s;
      proxy_read_timeout 1h;
    }
  }
}
`,
    );
    const process = ManagedProcess.start('nginx', executable, [
      '-p',
      directory,
      '-e',
      join(directory, 'error.log'),
      '-c',
      join(directory, 'nginx.conf'),
      '-g',
      'daemon off;',
    ]);
    try {
      await waitForPort(port, 10_000);
    } catch (error) {
      await process.stop('SIGKILL');
      throw new Error(`nginx did not start: ${(error as Error).message}\n${process.recentOutput}`);
    }
    return new NginxBalancer(port, process, directory);
  }

  /** The WebSocket URL of the product's endpoint behind the balancer. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}/sss`;
  }

  /** Stops nginx; `keepLogAs` saves its error log (upstream failures, 502s) before the temp folder goes. */
  async stop(keepLogAs?: string): Promise<void> {
    // SIGTERM is nginx's fast shutdown: it closes open WebSockets instead of waiting for them.
    await this.process.stop('SIGTERM');
    if (keepLogAs && existsSync(join(this.directory, 'error.log')))
      copyFileSync(join(this.directory, 'error.log'), keepLogAs);
    rmSync(this.directory, { recursive: true, force: true });
  }
}
