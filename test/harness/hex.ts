/**
 * Byte fixtures written as commented hex, one field per line, so a frame in a test reads like a
 * protocol diagram: `hex(\`ff ff ff ff ff ff  // destination: broadcast\`)`. Prettier leaves
 * template literals alone, which keeps the columns.
 */
export function hex(text: string): Buffer {
  const digits = text.replace(/\/\/.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits))
    throw new Error(`hex fixture has stray characters or an odd digit: ${digits}`);
  return Buffer.from(digits, 'hex');
}
