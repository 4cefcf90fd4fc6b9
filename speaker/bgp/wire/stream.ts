/**
 * Cuts a TCP byte stream into whole BGP messages. TCP keeps no message boundaries: one read may hold
 * half a header or forty UPDATEs. Pure, so the session shell only feeds it what the socket gives.
 */
import { checkHeaderPrefix, HEADER_LENGTH } from './header.ts';
import type { BgpWireError } from './errors.ts';

const LENGTH_OFFSET = 16;

export class MessageReader {
  private pending: Buffer = Buffer.alloc(0);
  private failure: BgpWireError | undefined;

  /**
   * Adds bytes and returns every message they complete, each a whole message (header included) to
   * hand to decodeMessage. Bad bytes are reported as soon as they arrive, without waiting for the
   * rest of the header: a marker byte that is not 0xff (Connection Not Synchronized, RFC 4271 §6.1)
   * or a length outside 19..4096 (Bad Message Length). After that the stream has no boundaries left
   * to trust, so every later push throws the same error; the session must close. Whole messages
   * that came before the bad bytes in the same chunk are not returned: the session is being torn
   * down with a NOTIFICATION anyway.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.failure !== undefined) throw this.failure;
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    try {
      for (;;) {
        checkHeaderPrefix(buffer.subarray(0, HEADER_LENGTH));
        if (buffer.length < HEADER_LENGTH) break;
        const length = buffer.readUInt16BE(LENGTH_OFFSET);
        if (buffer.length < length) break;
        // Copies, so a message kept by the caller does not pin the socket's (possibly large) chunk.
        messages.push(Buffer.from(buffer.subarray(0, length)));
        buffer = buffer.subarray(length);
      }
    } catch (error) {
      this.failure = error as BgpWireError;
      this.pending = Buffer.alloc(0);
      throw error;
    }
    this.pending = Buffer.from(buffer);
    return messages;
  }

  /** Bytes held back waiting for the rest of a message. */
  get buffered(): number {
    return this.pending.length;
  }
}
