// Base45 (RFC 9285) decoding, strict as adapters/wire/base45.py: characters outside the
// alphabet, a dangling character and triplets above 0xFFFF (pairs above 0xFF) are refused.
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

export function b45decode(text) {
  if (text.length % 3 === 1) throw new Error("invalid base45: dangling character");
  const out = new Uint8Array(2 * Math.floor(text.length / 3) + (text.length % 3 === 2 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < text.length; i += 3) {
    const digits = [];
    for (let j = i; j < Math.min(i + 3, text.length); j++) {
      const v = VALUE.get(text[j]);
      if (v === undefined) throw new Error("invalid base45: character outside the alphabet");
      digits.push(v);
    }
    if (digits.length === 3) {
      const x = digits[0] + 45 * digits[1] + 2025 * digits[2];
      if (x > 0xffff) throw new Error("invalid base45: triplet value above 0xFFFF");
      out[o++] = x >> 8;
      out[o++] = x & 0xff;
    } else {
      const x = digits[0] + 45 * digits[1];
      if (x > 0xff) throw new Error("invalid base45: pair value above 0xFF");
      out[o++] = x;
    }
  }
  return out;
}
