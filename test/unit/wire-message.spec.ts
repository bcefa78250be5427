import { describe, expect, it } from 'vitest';
import type { ScalerMessage } from '../../lib/scaler/scaler.interface.js';
import {
  completeWireMessage,
  decodeWireMessage,
  encodeMessageRest,
  wireJsonOf,
} from '../../lib/scaler/redis/wire-message.js';

describe('wire messages', () => {
  it('decodes what a publisher encodes once its seq is known', () => {
    const rest = encodeMessageRest('room/1', 'chat', JSON.stringify({ text: 'hi "there"' }), 'socket-9', 1_700);
    expect(decodeWireMessage(completeWireMessage(7, 'ep', rest))).toEqual({
      channel: 'room/1',
      topic: 'chat',
      data: { text: 'hi "there"' },
      seq: 7,
      epoch: 'ep',
      exceptSocketId: 'socket-9',
      publishedAt: 1_700,
    });
  });

  it('encodes a message or a placeholder read back from the store as it decodes', () => {
    const messages: ScalerMessage[] = [
      { channel: 'c', topic: 't', data: [1, { a: null }], seq: 3, epoch: 'e', exceptSocketId: 'x' },
      { channel: 'c', topic: 't', data: undefined, seq: 4, epoch: 'e' },
      { channel: 'c', topic: '', data: undefined, seq: 5, epoch: 'e', placeholder: true },
    ];
    for (const message of messages) expect(decodeWireMessage(wireJsonOf(message))).toEqual(message);
  });

  it('refuses a payload that is not a wire message', () => {
    expect(decodeWireMessage('not json')).toBeUndefined();
    expect(decodeWireMessage('{"c":"x"}')).toBeUndefined();
  });
});
