/**
 * Kinds of handler parameters. SOCKET and PAYLOAD share their numbers with `@nestjs/websockets`,
 * so `@ConnectedSocket()` and `@MessageBody()` from that package work on our handlers too. PAYLOAD,
 * CHANNEL_QUERY and CHANNEL_PARAMS share theirs with Nest's body, query and param, so that pipes
 * see them as such (`ValidationPipe` skips "custom" params unless told otherwise).
 */
export enum SssParamtype {
  SOCKET = 0,
  PAYLOAD = 3,
  CHANNEL_QUERY = 4,
  CHANNEL_PARAMS = 5,
  CHANNEL_NAME = 31,
  USER_ID = 33,
  SESSION_ID = 34,
  LOCALS = 35,
}
