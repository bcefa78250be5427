/**
 * Kinds of handler parameters. SOCKET and PAYLOAD share their numbers with `@nestjs/websockets`,
 * so `@ConnectedSocket()` and `@MessageBody()` from that package work on our handlers too.
 */
export enum SssParamtype {
  SOCKET = 0,
  PAYLOAD = 3,
  CHANNEL_PARAMS = 30,
  CHANNEL_NAME = 31,
  CHANNEL_QUERY = 32,
  USER_ID = 33,
  SESSION_ID = 34,
  LOCALS = 35,
}
