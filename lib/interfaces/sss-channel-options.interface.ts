/** Options of `@Channel()`. */
export interface SssChannelOptions {
  /**
   * Tracks who is subscribed to matching channels (sockets with a user id; several sockets of one
   * user count once) and sends join/leave events to their subscribers. Default false.
   */
  presence?: boolean;
}
