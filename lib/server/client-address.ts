import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { SssTrustProxy } from '../interfaces/sss-module-options.interface.js';

/** Finds the address of the client behind an upgrade request. */
export type ClientAddressResolver = (request: IncomingMessage) => string;

/**
 * Reads the client address as Express does for `trust proxy` (with the same module, proxy-addr):
 * X-Forwarded-For is walked from the right, from the TCP peer outwards, and the first hop that is
 * not trusted is the client. Whatever a client writes at the left of the header is never taken,
 * unless every hop is trusted (`true`).
 */
export function clientAddressResolver(trustProxy: SssTrustProxy): ClientAddressResolver {
  if (trustProxy === false) return peerAddress;
  const trust = compileTrust(trustProxy);
  return (request) => proxyAddr(request, trust) ?? peerAddress(request);
}

function compileTrust(trustProxy: Exclude<SssTrustProxy, false>): (address: string, hop: number) => boolean {
  if (trustProxy === true) return () => true;
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy;
  if (typeof trustProxy === 'function') return trustProxy;
  const trusted = typeof trustProxy === 'string' ? trustProxy.split(',').map((entry) => entry.trim()) : trustProxy;
  return proxyAddr.compile(trusted);
}

function peerAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}
