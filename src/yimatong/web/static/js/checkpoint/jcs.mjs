// RFC 8785 (JCS): the canonical JSON text the hub signs (adapters/signed.canonical).
// Keys sorted by UTF-16 code units (JavaScript's own string order), no whitespace, numbers and
// strings as JSON.stringify writes them (ECMAScript's number form is JCS's). Lone surrogates
// and non-finite numbers are not JSON: they throw, as the rfc8785 package refuses them.
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function canonicalize(value) {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("JCS has no NaN or Infinity");
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    if (LONE.test(value)) throw new TypeError("JCS has no lone surrogates");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => canonicalize(k) + ":" + canonicalize(value[k])).join(",") + "}";
  }
  throw new TypeError(`not JSON: ${typeof value}`);
}

/** The UTF-8 bytes that are signed. */
export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalize(value));
}
