import { randomBytes, randomInt } from 'node:crypto';

/** Hexabase ids are 24 hexadecimal digits (the samples' MongoDB ObjectIds); kura makes them random. */
export function newId(): string {
  return randomBytes(12).toString('hex');
}

export const ID_PATTERN = /^[0-9a-f]{24}$/;

/** Per process: the middle of ObjectId-like ids. */
const PROCESS_PART = randomBytes(5).toString('hex');
let counter = randomInt(0x1000000);

/**
 * Ids of items: 24 hex digits laid out as MongoDB ObjectIds (Hexabase's own ids) are — seconds, a
 * per-process part, a counter — so new items follow each other in the identity index instead of
 * landing at random places in it (twice as fast once the index outgrows the page cache). Not for
 * anything secret: unlike newId(), these can be guessed.
 */
export function orderedId(): string {
  counter = (counter + 1) % 0x1000000;
  return `${Math.floor(Date.now() / 1000).toString(16).padStart(8, '0')}${PROCESS_PART}${counter.toString(16).padStart(6, '0')}`;
}
