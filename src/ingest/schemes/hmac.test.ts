import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anyDigestMatches, decodeDigest, SHA256_BYTES, signedByAnyKey } from './hmac.js';

const digest = createHmac('sha256', 'key').update('body').digest();
const hex = digest.toString('hex');
const base64 = digest.toString('base64');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The same 32 bytes in base64 with the two unused low bits of the last character set. */
function nonCanonical(text: string): string {
  const last = ALPHABET.indexOf(text[42] ?? '');
  return `${text.slice(0, 42)}${ALPHABET[last | 1]}=`;
}

describe('decodeDigest', () => {
  it.each([
    ['lower-case hex', hex, 'hex'],
    ['upper-case hex', hex.toUpperCase(), 'hex'],
    ['padded base64', base64, 'base64'],
  ] as const)('decodes %s', (_, text, encoding) => {
    expect(decodeDigest(text, encoding, SHA256_BYTES)).toEqual(digest);
  });

  it.each([
    ['empty', '', 'hex'],
    ['short hex', hex.slice(0, 62), 'hex'],
    ['long hex', `${hex}00`, 'hex'],
    ['odd-length hex', hex.slice(0, 63), 'hex'],
    ['hex with a non-hex character', `${hex.slice(0, 63)}g`, 'hex'],
    ['hex with a non-ASCII character', `${hex.slice(0, 63)}é`, 'hex'],
    ['hex with spaces', ` ${hex.slice(1)}`, 'hex'],
    ['empty base64', '', 'base64'],
    ['unpadded base64', base64.replace(/=+$/, ''), 'base64'],
    ['base64 with junk', `${base64}!`, 'base64'],
    ['base64 with an inner junk character', `${base64.slice(0, 10)}*${base64.slice(11)}`, 'base64'],
    ['base64url', base64.replace(/\+/g, '-').replace(/\//g, '_'), 'base64'],
    ['base64 of the wrong length', Buffer.alloc(31).toString('base64'), 'base64'],
    ['non-canonical base64 (stray low bits)', nonCanonical(base64), 'base64'],
    ['non-ASCII base64', 'é'.repeat(44), 'base64'],
  ] as const)('refuses %s without throwing', (_, text, encoding) => {
    expect(decodeDigest(text, encoding, SHA256_BYTES)).toBeNull();
  });

  it('the non-canonical spelling is a real trap: Node alone decodes it to the digest', () => {
    expect(nonCanonical(base64)).not.toBe(base64);
    expect(Buffer.from(nonCanonical(base64), 'base64')).toEqual(digest);
  });
});

describe('anyDigestMatches / signedByAnyKey', () => {
  it('matches any candidate against any expected digest', () => {
    const other = Buffer.alloc(32, 1);
    expect(anyDigestMatches([other, digest], ['junk', hex], 'hex')).toBe(true);
    expect(anyDigestMatches([other], ['junk', hex], 'hex')).toBe(false);
    expect(anyDigestMatches([], [hex], 'hex')).toBe(false);
    expect(anyDigestMatches([digest], [], 'hex')).toBe(false);
  });

  it('does not throw on an expected digest of another length', () => {
    expect(anyDigestMatches([Buffer.alloc(20)], [hex], 'hex')).toBe(false);
  });

  it('signs with each key, skipping empty ones', () => {
    expect(signedByAnyKey(['nope', 'key'], ['bo', 'dy'], [base64], 'base64')).toBe(true);
    expect(signedByAnyKey([Buffer.from('key')], [Buffer.from('body')], [hex], 'hex')).toBe(true);
    const emptyKeyDigest = createHmac('sha256', '').update('body').digest('hex');
    expect(signedByAnyKey(['', Buffer.alloc(0)], ['body'], [emptyKeyDigest], 'hex')).toBe(false);
  });

  it('checks SHA-1 when asked, and only a digest of SHA-1 length', () => {
    const sha1 = createHmac('sha1', 'key').update('body').digest('hex');
    expect(signedByAnyKey(['key'], ['body'], [sha1], 'hex', 'sha1')).toBe(true);
    expect(signedByAnyKey(['key'], ['body'], [sha1], 'hex')).toBe(false);
    expect(signedByAnyKey(['key'], ['body'], [hex], 'hex', 'sha1')).toBe(false);
  });
});
