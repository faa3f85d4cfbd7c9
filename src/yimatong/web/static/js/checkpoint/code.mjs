// YMT1 codes verified in the browser: YMT1: + base45(maybe-zlib(COSE_Sign1(CWT))), exactly as
// adapters/wire/code.py checks them, in the same order, failing with the same operator details
// (tests/vectors/ymt1 runs through both). Signatures through WebCrypto: Ed25519 (COSE -8) and
// ECDSA P-256 with SHA-256 (COSE -7). SM2 has no WebCrypto algorithm: such a code is
// ``Unsupported`` here, which the page treats like an unknown key (CHECK, never DENY or PASS).
import { decode as cborDecode } from "../../vendor/cborg/cborg.mjs";
import { b45decode } from "./base45.mjs";

export const PREFIX = "YMT1:";
export const MAX_CODE_LENGTH = 2560;
export const MAX_INFLATED_SIZE = 4096;
export const DEFAULT_LEEWAY = 30; // seconds
const CLAIMS_KEY = -65537;
const MAX_EPOCH = 253402300799;
const COLOURS = ["green", "yellow", "red"];
const KINDS = ["dynamic", "printed"];
const REASON = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REGION = /^[0-9]{6}$/;
export const ALGORITHMS = {
  "-8": { name: "Ed25519", label: "EdDSA" },
  "-7": { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256", label: "ES256" },
};

export class InvalidCode extends Error {
  constructor(detail) {
    super("the health code is not valid");
    this.detail = detail;
  }
}
export class UnknownKey extends InvalidCode {}
export class ExpiredCode extends InvalidCode {}
/** Signed with an algorithm this browser cannot check (SM2): not a refusal, a CHECK. */
export class Unsupported extends UnknownKey {}

export const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
export function fromBase64(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}
const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// ---------------------------------------------------------------------------- keys
/** Import a trust-list key (base64 SPKI DER); its kid must be SHA-256(SPKI)[:8]. */
export async function importKey({ kid, alg, public_key }) {
  const der = fromBase64(public_key);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  if (hex(digest.slice(0, 8)) !== kid) throw new Error("kid does not match the key");
  const algorithm = ALGORITHMS[String(alg)];
  if (!algorithm) return { alg: Number(alg), key: null }; // SM2: cannot be checked here
  const params =
    algorithm.name === "Ed25519"
      ? { name: "Ed25519" }
      : { name: "ECDSA", namedCurve: algorithm.namedCurve };
  const key = await crypto.subtle.importKey("spki", der, params, false, ["verify"]);
  return { alg: Number(alg), key };
}

export async function verifySignature(entry, signature, data) {
  const algorithm = ALGORITHMS[String(entry.alg)];
  const params = algorithm.name === "Ed25519" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  return crypto.subtle.verify(params, entry.key, signature, data);
}

/** A keyring: kid hex → {issuer, alg, key, not_before, not_after, revoked_at} (epoch s). */
export class Keyring {
  constructor(entries = []) {
    this.byKid = new Map();
    for (const e of entries) {
      if (this.byKid.has(e.kid)) throw new Error(`kid ${e.kid} appears twice`);
      this.byKid.set(e.kid, e);
    }
  }
  get(kid) {
    return this.byKid.get(kid);
  }
  get size() {
    return this.byKid.size;
  }
}

// ---------------------------------------------------------------------------- CBOR
function head(major, n) {
  const mt = major << 5;
  if (n < 24) return [mt | n];
  if (n < 0x100) return [mt | 24, n];
  if (n < 0x10000) return [mt | 25, n >> 8, n & 0xff];
  return [mt | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
const bstr = (data) => [...head(2, data.length), ...data];
const int = (v) => (v >= 0 ? head(0, v) : head(1, -1 - v));

const TAGS = [];
TAGS[18] = (decodeInner) => ({ tag18: decodeInner() }); // cborg 6: a tag decoder decodes its content

function parseSign1(data) {
  let obj;
  try {
    obj = cborDecode(data, { useMaps: true, tags: TAGS, allowIndefinite: false, allowUndefined: false });
  } catch {
    throw new InvalidCode("malformed: COSE");
  }
  const tagged = obj !== null && typeof obj === "object" && "tag18" in obj;
  if (tagged) obj = obj.tag18;
  if (!Array.isArray(obj) || obj.length !== 4) throw new InvalidCode("malformed: COSE");
  const [protectedBytes, unprotected, payload, signature] = obj;
  if (
    !(protectedBytes instanceof Uint8Array) ||
    !(unprotected instanceof Map) ||
    !(payload instanceof Uint8Array) ||
    !(signature instanceof Uint8Array) ||
    unprotected.size !== 0
  ) {
    throw new InvalidCode("malformed: COSE");
  }
  const canonical = [0x84, ...bstr(protectedBytes), 0xa0, ...bstr(payload), ...bstr(signature)];
  if (!equalBytes(Uint8Array.from(tagged ? [0xd2, ...canonical] : canonical), data)) {
    throw new InvalidCode("malformed: COSE");
  }
  let header;
  try {
    header = cborDecode(protectedBytes, { useMaps: true, allowIndefinite: false });
  } catch {
    throw new InvalidCode("malformed: COSE");
  }
  const alg = header instanceof Map ? header.get(1) : undefined;
  const kid = header instanceof Map ? header.get(4) : undefined;
  if (
    !(header instanceof Map) ||
    header.size !== 2 ||
    !Number.isInteger(alg) ||
    !(kid instanceof Uint8Array) ||
    kid.length < 1 ||
    kid.length > 32 ||
    !equalBytes(Uint8Array.from([0xa2, 0x01, ...int(alg), 0x04, ...bstr(kid)]), protectedBytes)
  ) {
    throw new InvalidCode("malformed: COSE");
  }
  const toBeSigned = Uint8Array.from([
    0x84, 0x6a, ...new TextEncoder().encode("Signature1"), ...bstr(protectedBytes), 0x40, ...bstr(payload),
  ]);
  return { alg, kid: hex(kid), payload, signature, toBeSigned };
}

async function inflate(packed) {
  const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("deflate"));
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size >= MAX_INFLATED_SIZE) {
        reader.cancel().catch(() => {});
        throw new InvalidCode("inflates too large");
      }
      chunks.push(value);
    }
  } catch (exc) {
    if (exc instanceof InvalidCode) throw exc;
    throw new InvalidCode("malformed: zlib");
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

async function unwrap(code) {
  if (typeof code !== "string") throw new InvalidCode("malformed: not text");
  if ([...code].length > MAX_CODE_LENGTH) throw new InvalidCode("too long");
  if (!code.startsWith(PREFIX)) throw new InvalidCode("unknown prefix");
  let raw;
  try {
    raw = b45decode(code.slice(PREFIX.length));
  } catch {
    throw new InvalidCode("malformed: base45");
  }
  if (raw.length && raw[0] === 0x78) raw = await inflate(raw);
  return parseSign1(raw);
}

// ---------------------------------------------------------------------------- claims
const isEpoch = (v) => Number.isInteger(v) && v >= 0 && v <= MAX_EPOCH;
function masked(v) {
  return typeof v === "string" && [...v].length <= 48 && (v === "" || v.includes("*"));
}

function decodeClaims(payload) {
  let cwt;
  try {
    cwt = cborDecode(payload, { useMaps: true, allowIndefinite: false, allowUndefined: false });
  } catch {
    throw new InvalidCode("malformed: claims");
  }
  const bad = () => new InvalidCode("malformed: claims");
  if (!(cwt instanceof Map) || cwt.size !== 4 || ![1, 4, 6, CLAIMS_KEY].every((k) => cwt.has(k))) throw bad();
  const p = cwt.get(CLAIMS_KEY);
  if (!(p instanceof Map)) throw bad();
  const version = p.get(1);
  if (version !== 1) throw new InvalidCode("unsupported version");
  if (p.size !== 9 || ![1, 2, 3, 4, 5, 6, 7, 8, 9].every((k) => p.has(k))) throw bad();
  const [sid, colour, since, reasons, hours, name, id, kind] = [2, 3, 4, 5, 6, 7, 8, 9].map((k) => p.get(k));
  const iss = cwt.get(1);
  const iat = cwt.get(6);
  const exp = cwt.get(4);
  if (
    !(sid instanceof Uint8Array) || sid.length !== 16 ||
    !Number.isInteger(colour) || colour < 0 || colour > 2 ||
    !Number.isInteger(kind) || kind < 0 || kind > 1 ||
    !Array.isArray(reasons) ||
    typeof iss !== "string" || !REGION.test(iss) ||
    !isEpoch(iat) || !isEpoch(exp) || !isEpoch(since) || exp <= iat ||
    reasons.length > 16 ||
    !reasons.every((r) => typeof r === "string" && r.length <= 64 && REASON.test(r)) ||
    !(hours === null || (Number.isInteger(hours) && hours >= 0 && hours <= 100000)) ||
    !masked(name) || !masked(id)
  ) {
    throw bad();
  }
  return {
    issuer: iss,
    issued_at: iat,
    expires_at: exp,
    sid: hex(sid),
    colour: COLOURS[colour],
    colour_since: since,
    reasons,
    hours_since_negative_test: hours,
    masked_name: name,
    masked_id: id,
    kind: KINDS[kind],
    version,
  };
}

/** Verify ``code`` against ``keyring`` at ``now`` (epoch seconds); its claims, or InvalidCode. */
export async function verifyCodeAt(code, keyring, now, leeway = DEFAULT_LEEWAY) {
  const msg = await unwrap(code);
  const trusted = keyring.get(msg.kid);
  if (trusted === undefined) throw new UnknownKey("unknown kid");
  if (msg.alg !== trusted.alg) throw new InvalidCode("algorithm mismatch");
  if (trusted.key === null) throw new Unsupported("algorithm not available in this browser");
  let ok = false;
  try {
    ok = await verifySignature(trusted, msg.signature, msg.toBeSigned);
  } catch {
    ok = false;
  }
  if (!ok) throw new InvalidCode("bad signature");
  const claims = decodeClaims(msg.payload);
  if (claims.issuer !== trusted.issuer) throw new InvalidCode("issuer mismatch");
  if (trusted.revoked_at != null && trusted.revoked_at <= now) throw new InvalidCode("key revoked");
  if (claims.issued_at < trusted.not_before || (trusted.not_after != null && claims.issued_at > trusted.not_after)) {
    throw new InvalidCode("key not valid at issue time");
  }
  if (claims.issued_at > now + leeway) throw new InvalidCode("issued in the future");
  if (now - leeway >= claims.expires_at) throw new ExpiredCode("expired");
  return claims;
}
