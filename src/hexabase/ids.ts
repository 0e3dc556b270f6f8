import { randomBytes } from 'node:crypto';

/** Hexabase ids are 24 hexadecimal digits (the samples' MongoDB ObjectIds); kura makes them random. */
export function newId(): string {
  return randomBytes(12).toString('hex');
}

export const ID_PATTERN = /^[0-9a-f]{24}$/;
