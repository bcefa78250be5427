// The part of proxy-addr (the module Express uses for `trust proxy`) that SssServer calls.
declare module 'proxy-addr' {
  import type { IncomingMessage } from 'node:http';

  /** Whether to trust the hop `address`, `hop` hops away from this server (0 = the TCP peer). */
  type TrustFunction = (address: string, hop: number) => boolean;

  /** The address of the client: the right-most address of the request's chain that is not trusted. */
  function proxyAddr(request: IncomingMessage, trust: TrustFunction | string | string[]): string | undefined;

  namespace proxyAddr {
    /** Compiles addresses, CIDRs and preset names ('loopback', 'linklocal', 'uniquelocal') into a trust function. */
    function compile(trusted: string | string[]): TrustFunction;
  }

  export = proxyAddr;
}
