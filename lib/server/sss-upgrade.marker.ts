/**
 * Set on an upgrade request that SssServer took, so that other upgrade listeners (see
 * `SssWsAdapter`) leave it alone.
 */
export const SSS_UPGRADE = Symbol.for('super-scaled-sockets.upgrade');
