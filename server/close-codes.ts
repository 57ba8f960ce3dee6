/**
 * WebSocket close codes a server may put in a close frame (RFC 6455 7.4): 1004-1006 and 1015 are
 * reserved for reporting, never sent; 3000-3999 are registered, 4000-4999 private. The option
 * schema states the same ranges for the configurable close codes.
 */
export function isSendableCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}

/**
 * Close code for a client whose send queue passed `wsMaxBufferedBytes` (it stopped reading):
 * 1008, policy violation. ih-mock's choice; the live service's behaviour is undocumented.
 */
export const SEND_QUEUE_FULL_CLOSE_CODE = 1008;
