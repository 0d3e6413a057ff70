import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';

/** Runs `fn`, expects an InvalidInputError and returns its message. */
export function invalidInputOf(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidInputError);
  return (caught as InvalidInputError).message;
}
