/** When a certificate is renewed: at two thirds of its lifetime, as Let's Encrypt advises. Pure. */

/** The time (ms) at which a certificate valid from `notBefore` to `notAfter` is renewed. */
export function renewAt(notBefore: Date, notAfter: Date): number {
  const from = notBefore.getTime();
  return from + Math.floor(((notAfter.getTime() - from) * 2) / 3);
}
