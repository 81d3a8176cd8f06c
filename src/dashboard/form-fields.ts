import { z } from 'zod';

/**
 * A text field of a posted form, as a person typed it: line breaks as the page counted them
 * (browsers send CRLF, `maxlength` counts one character), trimmed, at most `max` characters,
 * no NUL (PostgreSQL text cannot hold one); empty becomes undefined.
 */
export function formText(max: number) {
  return z
    .string()
    .transform((text) => text.replaceAll('\r\n', '\n').trim())
    .pipe(
      z
        .string()
        .max(max, `at most ${max} characters`)
        .refine((text) => !text.includes('\u0000'), 'must not contain a NUL character'),
    )
    .transform((text) => text || undefined)
    .optional();
}
