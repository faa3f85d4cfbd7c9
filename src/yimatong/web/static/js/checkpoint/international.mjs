// International certificates in the browser: EU DCC (HC1:) and SMART Health Cards (shc:/),
// verified offline as verifier/international.py does — the same checks in the same order,
// the same reason strings, the same ``certificate`` facts — against the hub's signed
// international trust (GET /v1/international-trust, through the issuer's relay on an issuer).
//
// The page has no X.509 parser: each DSC row of the trust carries what verify_dcc reads of
// the certificate (hub/dsc_summary.py: key type, SPKI, validity, DCC key usages, its own C), signed by
// the hub with the rest. Keys are imported into WebCrypto on first use.
import { decode as cborDecode } from "../../vendor/cborg/cborg.mjs";
import { b45decode } from "./base45.mjs";
import { UNDEFINED, WholeFloat, display, hcertEntry, hcertKind, unmarked } from "./dcc-schema.mjs";
import { fromBase64, hex } from "./code.mjs";
import { BadDocument, verifyDocument } from "./lists.mjs";
import { makeFacts, parseTime } from "./policy.mjs";

const HC1 = "HC1:";
const SHC = "shc:/";
const MAX_HC1_LENGTH = 8192;
const MAX_HC1_INFLATED = 16384;
const MAX_JWS_LENGTH = 8192;
const MAX_SHC_INFLATED = 65536;
const MAX_CHUNK_JWS = 1191;
const MAX_CHUNKS = 32;
const MAX_KID = 64;
const ALG_ES256 = -7;
const ALG_EDDSA = -8;
const ALG_PS256 = -37;
const ALGS = new Set([ALG_ES256, ALG_EDDSA, ALG_PS256]);
const MAX_EPOCH = 253402300799;
const TEST_TYPES = { "LP6464-4": "pcr", "LP217198-3": "rat" };
const NOT_DETECTED = "260415000";
const COUNTRY = /^[A-Z]{2}$/;
const CHUNK = /^shc:\/(?:([1-9][0-9]?)\/([1-9][0-9]?)\/)?([0-9]*)$/;
const B64URL = /^[A-Za-z0-9_-]*$/;
const B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEADER_KEYS = new Set(["alg", "zip", "kid"]);
const SHC_TYPE = "https://smarthealth.cards#health-card";
const SINGLE_DOSE_CVX = new Set(["212"]);
const CVX = "http://hl7.org/fhir/sid/cvx";
const LOINC = "http://loinc.org";
const PCR_LOINC = new Set(["94500-6", "94309-2", "94759-8", "94533-7", "94534-5", "94845-5"]);
const RAT_LOINC = new Set(["94558-4", "95209-3", "97097-0"]);
const NEGATIVE_SNOMED = new Set(["260385009", "260415000"]);

/** What Python's str.split() splits on (str.isspace: \x1c-\x1f and \x85 too, not \ufeff). */
export const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
export const isInternational = (text) => text.startsWith(HC1) || text.startsWith(SHC);
export const isShc = (text) => text.startsWith(SHC);

class Refused extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}
const refused = (reason, claims = null) => ({ valid: false, reason, claims, facts: null });
const isDict = (v) =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof WholeFloat) && v !== UNDEFINED;
const text = (v) => (typeof v === "string" ? v : null);
const codePoints = (s) => [...s].length;
/** A NumericDate (RFC 8392) a datetime can hold, else null (verifier/international._number). */
const number = (v) => (typeof v === "number" && Number.isFinite(v) && v >= 0 && v < MAX_EPOCH ? v : null);
const isInt = (v) => typeof v === "number" && Number.isInteger(v);

// ----------------------------------------------------------------------------- the trust
/** The hub's international trust document, verified (build_international): DSCs by kid hex
 *  and SHC issuers by URL, each JWK checked as issuer_keys checks it. */
export async function buildInternational(documents, hubKeys) {
  if (documents.length !== 1) throw new BadDocument("an international trust entry holds one document");
  return trustFrom(await verifyDocument(documents[0], hubKeys));
}

/** The trust of a verified international trust payload. */
export async function trustFrom(payload) {
  if (payload.type !== "international-trust") throw new BadDocument("not an international trust document");
  try {
    const signers = new Map();
    for (const row of payload.dcc) {
      if (typeof row.kid !== "string" || !/^[0-9a-f]+$/.test(row.kid)) throw new Error("kid");
      signers.set(row.kid, {
        kid: row.kid,
        country: String(row.country),
        // the DSC's own C, which UNKNOWN_KID revocation batches go by (DocumentSigner.country)
        subjectCountry: typeof row.subject_country === "string" ? row.subject_country : null,
        keyType: row.key_type ?? null,
        spki: row.key_type ? row.public_key : null,
        notBefore: row.key_type ? parseTime(row.not_before) : null,
        notAfter: row.key_type ? parseTime(row.not_after) : null,
        usages: Array.isArray(row.usages) ? new Set(row.usages) : null,
        key: undefined, // imported on first use
      });
      if (row.key_type && (typeof row.public_key !== "string" || signers.get(row.kid).notBefore === null || signers.get(row.kid).notAfter === null)) {
        throw new Error("DSC summary");
      }
    }
    const issuers = new Map();
    for (const row of payload.shc) {
      const iss = String(row.iss);
      const keys = await issuerKeys(row.keys);
      const crls = new Map([...shcCrls(row.crls ?? [])].filter(([kid]) => keys.has(kid)));
      issuers.set(iss, { keys, crls });
    }
    const revocation = dccRevocation(payload.dcc_revocation ?? []);
    const issued = parseTime(payload.issued_at);
    if (issued === null || !Number.isInteger(Number(payload.version))) throw new Error("version or issued_at");
    return { version: Number(payload.version), issued_at: issued, signers, issuers, revocation };
  } catch (exc) {
    if (exc instanceof BadDocument) throw exc;
    throw new BadDocument(`malformed international trust: ${exc.message}`);
  }
}

async function thumbprint(jwk) {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
  return b64urlEncode(digest);
}

/** The usable keys of one issuer's JWKS: P-256 ES256 signing keys whose kid is their thumbprint. */
async function issuerKeys(keys) {
  const out = new Map();
  for (const jwk of Array.isArray(keys) ? keys : []) {
    if (!isDict(jwk) || jwk.kty !== "EC" || jwk.crv !== "P-256") continue;
    if ((jwk.use ?? "sig") !== "sig" || (jwk.alg ?? "ES256") !== "ES256") continue;
    const { x, y, kid } = jwk;
    if (typeof x !== "string" || typeof y !== "string" || typeof kid !== "string") continue;
    let xb;
    let yb;
    try {
      xb = b64urlDecode(x);
      yb = b64urlDecode(y);
    } catch {
      continue;
    }
    if (xb.length !== 32 || yb.length !== 32 || (await thumbprint(jwk)) !== kid) continue;
    try {
      const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x, y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      out.set(kid, key);
    } catch {
      // not a point on the curve
    }
  }
  return out;
}

const RID_AT = /^([A-Za-z0-9_-]{1,24})(?:\.([0-9]{1,12}))?$/;

/** shc_crls: the revoked rids of an issuer's Card Revocation Lists by kid: rid -> null
 *  (revoked whatever its nbf) or the time (s) up to which cards are revoked. */
function shcCrls(crls) {
  const out = new Map();
  for (const crl of Array.isArray(crls) ? crls : []) {
    if (!isDict(crl) || (crl.method ?? "rid") !== "rid") continue;
    const { kid, rids } = crl;
    if (typeof kid !== "string" || !Array.isArray(rids)) continue;
    if (!out.has(kid)) out.set(kid, new Map());
    const table = out.get(kid);
    for (const item of rids) {
      const m = typeof item === "string" ? RID_AT.exec(item) : null;
      if (m === null) continue;
      const [, rid, at] = m;
      if (table.has(rid) && table.get(rid) === null) continue;
      table.set(rid, at === undefined ? null : Math.max(Number(at), table.get(rid) || 0));
    }
  }
  return out;
}

/** _shc_revoked: the CRL of the kid that signed the card lists its vc.rid, bare or with a
 *  timestamp not earlier than its nbf in whole seconds. */
function shcRevoked(issuer, kid, payload, nbf) {
  const table = issuer.crls.get(kid);
  if (!table || !table.size) return false;
  const vc = payload.vc;
  const rid = isDict(vc) ? vc.rid : undefined;
  if (typeof rid !== "string" || !table.has(rid)) return false;
  const until = table.get(rid);
  return until === null || Math.floor(nbf) <= until;
}

const IMPORT = {
  "ec-p256": { name: "ECDSA", namedCurve: "P-256" },
  rsa: { name: "RSA-PSS", hash: "SHA-256" },
  ed25519: { name: "Ed25519" },
};

async function signerKey(signer) {
  if (signer.key === undefined) {
    const params = IMPORT[signer.keyType];
    signer.key = null;
    if (params) {
      try {
        signer.key = await crypto.subtle.importKey("spki", fromBase64(signer.spki), params, false, ["verify"]);
      } catch {
        signer.key = null;
      }
    }
  }
  return signer.key;
}

// ----------------------------------------------------------------------------- bytes
function b64urlDecode(s) {
  const rest = s.length % 4;
  if (rest === 1 || !B64URL.test(s)) throw new Refused("malformed: JWS");
  if (rest && B64URL_ALPHABET.indexOf(s[s.length - 1]) & (rest === 2 ? 0x0f : 0x03)) throw new Refused("malformed: JWS");
  return fromBase64(s.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - rest) % 4));
}

function b64urlEncode(bytes) {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decompress ``data`` whole (zlib or raw DEFLATE), at most ``limit`` bytes out. */
async function inflate(data, format, limit, malformed) {
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) {
        reader.cancel().catch(() => {});
        throw new Refused("inflates too large");
      }
      chunks.push(value);
    }
  } catch (exc) {
    if (exc instanceof Refused) throw exc;
    throw new Refused(malformed);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function head(major, n) {
  const mt = major << 5;
  if (n < 24) return [mt | n];
  if (n < 0x100) return [mt | 24, n];
  if (n < 0x10000) return [mt | 25, n >> 8, n & 0xff];
  return [mt | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
const bstr = (data) => concat(Uint8Array.from(head(2, data.length)), data);

// ----------------------------------------------------------------------------- CBOR
// A tag decoder of cborg 6 decodes its content: a tagged COSE and the date/time tags that some
// issuers put in the claims (cbor2 reads those as datetimes; international._as_text as text).
const tagged = (tag) => (inner) => ({ cborTag: tag, value: inner() });
const COSE_TAGS = [];
COSE_TAGS[61] = tagged(61);
COSE_TAGS[18] = tagged(18);
const CLAIM_TAGS = [];
CLAIM_TAGS[0] = (inner) => ({ cborDate: dateTimeText(inner()) });
CLAIM_TAGS[1] = (inner) => ({ cborDate: epochText(unmarked(inner())) });
CLAIM_TAGS[1004] = (inner) => ({ cborDate: String(unmarked(inner())) });
// The tags markValues puts before each float with a whole value and each undefined.
CLAIM_TAGS[0xffff] = (inner) => {
  const value = inner();
  if (typeof value !== "number") throw new Error("not a marked float");
  return new WholeFloat(value);
};
CLAIM_TAGS[0xfffe] = (inner) => {
  if (inner() !== undefined) throw new Error("not a marked undefined");
  return UNDEFINED;
};

const FLOAT_SIZES = { 25: 2, 26: 4, 27: 8 };

/** The offsets of the floats with a whole value and of the undefineds in one CBOR item from
 *  ``p``, as [offset, marking tag] (its end returned). */
function floatsIn(d, p, out) {
  if (p >= d.length) throw new Error("short");
  const ib = d[p];
  const major = ib >> 5;
  const minor = ib & 31;
  if (major === 7) {
    const size = FLOAT_SIZES[minor];
    if (minor === 23) out.push([p, 0xfe]);
    if (size === undefined) return p + (minor === 24 ? 2 : 1);
    if (p + 1 + size > d.length) throw new Error("short");
    const view = new DataView(d.buffer, d.byteOffset + p + 1, size);
    const value = size === 2 ? half(view.getUint16(0)) : size === 4 ? view.getFloat32(0) : view.getFloat64(0);
    if (Number.isInteger(value)) out.push([p, 0xff]);
    return p + 1 + size;
  }
  let n = minor;
  let q = p + 1;
  if (minor >= 24 && minor <= 27) {
    const size = 1 << (minor - 24);
    if (q + size > d.length) throw new Error("short");
    n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + d[q + i];
    q += size;
  } else if (minor === 31) {
    if (major < 2 || major === 6) throw new Error("indefinite");
    while (q < d.length && d[q] !== 0xff) q = floatsIn(d, q, out);
    if (q >= d.length) throw new Error("short");
    return q + 1;
  } else if (minor > 27) throw new Error("minor");
  if (major === 2 || major === 3) return q + n;
  if (major === 4 || major === 5) {
    for (let i = 0; i < (major === 5 ? 2 * n : n); i++) q = floatsIn(d, q, out);
    return q;
  }
  return major === 6 ? floatsIn(d, q, out) : q;
}

function half(bits) {
  const exponent = (bits >> 10) & 31;
  const fraction = bits & 1023;
  const magnitude = exponent === 0 ? fraction * 2 ** -24 : exponent === 31 ? (fraction ? NaN : Infinity) : (fraction + 1024) * 2 ** (exponent - 25);
  return bits & 0x8000 ? -magnitude : magnitude;
}

/** ``data`` with a marking tag before each float with a whole value and each undefined, so
 *  that the schema refuses a dose count of 2.0 or undefined as Python does; ``data`` itself
 *  when it has none or cannot be walked (cborg then says what is wrong with it). */
function markValues(data) {
  const at = [];
  try {
    floatsIn(data, 0, at);
  } catch {
    return data;
  }
  if (!at.length) return data;
  const out = new Uint8Array(data.length + 3 * at.length);
  let from = 0;
  let to = 0;
  for (const [p, low] of at) {
    out.set(data.subarray(from, p), to);
    to += p - from;
    out.set([0xd9, 0xff, low], to);
    to += 3;
    from = p;
  }
  out.set(data.subarray(from), to);
  return out;
}

function dateTimeText(value) {
  const t = typeof value === "string" ? parseInstant(value) : null;
  if (t === null) throw new Error("tag 0");
  return isoText(t.seconds, t.offset);
}
function epochText(value) {
  if (typeof value !== "number") throw new Error("tag 1");
  return isoText(value, 0);
}

const STRICT = { useMaps: true, strict: true, allowIndefinite: false, rejectDuplicateMapKeys: true };

function loadsExact(data, what) {
  try {
    return cborDecode(data, { ...STRICT, tags: COSE_TAGS });
  } catch {
    throw new Refused(`malformed: ${what}`);
  }
}

/** A CBOR map as a dict of its text keys (what the DCC reads), dates as text. */
function plain(item) {
  if (item instanceof Map) {
    const out = {};
    for (const [k, v] of item) if (typeof k === "string") out[k] = plain(v);
    return out;
  }
  if (Array.isArray(item)) return item.map(plain);
  if (item !== null && typeof item === "object" && "cborDate" in item) return item.cborDate;
  return item;
}

function headerKid(value) {
  if (!(value instanceof Uint8Array) || value.length < 1 || value.length > MAX_KID) throw new Refused("malformed: COSE header");
  return value;
}

/** parse_cose: the COSE_Sign1 of a DCC, not verified. */
function parseCose(data) {
  let item = loadsExact(data, "COSE");
  if (item?.cborTag === 61) item = item.value;
  if (item !== null && typeof item === "object" && "cborTag" in item) {
    if (item.cborTag !== 18) throw new Refused("malformed: COSE");
    item = item.value;
  }
  if (!Array.isArray(item) || item.length !== 4) throw new Refused("malformed: COSE");
  const [prot, unprot, payload, signature] = item;
  if (!(prot instanceof Uint8Array && payload instanceof Uint8Array && signature instanceof Uint8Array)) throw new Refused("malformed: COSE");
  if (!(unprot instanceof Map)) throw new Refused("malformed: COSE");
  const header = prot.length ? loadsExact(prot, "COSE header") : new Map();
  if (!(header instanceof Map)) throw new Refused("malformed: COSE header");
  if ([...unprot.keys()].some((k) => k !== 4)) throw new Refused("unprotected header");
  const alg = header.get(1);
  if (!isInt(alg)) throw new Refused("malformed: COSE header");
  if (!ALGS.has(alg)) throw new Refused("unsupported algorithm");
  let kid = null;
  if (header.has(4)) kid = headerKid(header.get(4));
  else if (unprot.has(4)) kid = headerKid(unprot.get(4));
  const toBeSigned = concat(
    Uint8Array.from([0x84, 0x6a, ...new TextEncoder().encode("Signature1")]),
    bstr(prot),
    Uint8Array.from([0x40]),
    bstr(payload),
  );
  return { alg, kid, payload, signature, toBeSigned };
}

async function verifyCose(alg, signer, signature, data) {
  const key = await signerKey(signer);
  let params;
  if (alg === ALG_ES256) {
    if (signer.keyType !== "ec-p256" || key === null) return "algorithm mismatch";
    if (signature.length !== 64) return "bad signature";
    params = { name: "ECDSA", hash: "SHA-256" };
  } else if (alg === ALG_PS256) {
    if (signer.keyType !== "rsa" || key === null) return "algorithm mismatch";
    params = { name: "RSA-PSS", saltLength: 32 };
  } else {
    if (signer.keyType !== "ed25519" || key === null) return "algorithm mismatch";
    params = { name: "Ed25519" };
  }
  let ok = false;
  try {
    ok = await crypto.subtle.verify(params, key, signature, data);
  } catch {
    ok = false;
  }
  return ok ? null : "bad signature";
}

// ----------------------------------------------------------------------------- DCC
const NOT_POLICY = new Set(["nam", "dob", "v", "t", "r"]);

/** international._dob: the date of birth as written, without a time some writers appended. */
function dobText(value) {
  const chars = [...String(value)];
  return chars.length > 10 && "Tt ".includes(chars[10]) ? chars.slice(0, 10).join("") : chars.join("");
}

function dccFacts(kind, entry, dcc, iss, iat, exp) {
  let vaccination = null;
  let test = null;
  let recovery = null;
  if (kind === "v") {
    vaccination = {
      doses: entry.dn, series: entry.sd, complete: entry.dn >= entry.sd, last_date: entry.dt, product: entry.mp,
      product_name: display("vaccine-medicinal-product", entry.mp), disease: entry.tg,
    };
  } else if (kind === "t") {
    test = { type: TEST_TYPES[entry.tt] ?? "other", negative: entry.tr === NOT_DETECTED, sampled_at: entry.sc, disease: entry.tg };
  } else {
    recovery = { first_positive: entry.fr, valid_from: entry.df, valid_until: entry.du, disease: entry.tg };
  }
  const name = dcc.nam;
  const shown = [text(name.fn), text(name.gn)].filter((x) => x).join(" ");
  const country = text(entry.co);
  const payload = {};
  for (const [k, v] of Object.entries(dcc)) if (!NOT_POLICY.has(k)) payload[k] = v;
  payload[kind] = [entry];
  return {
    kind: "dcc",
    issuer: iss,
    issuer_country: iss && COUNTRY.test(iss) ? iss : country,
    issued_at: iat,
    expires_at: exp,
    colour: null,
    vaccination,
    test,
    recovery,
    holder_name: shown || name.fnt || name.gnt,
    holder_dob: dobText(dcc.dob),
    payload: unmarked(payload),
  };
}

// ----------------------------------------------------------------------------- revocation
/** SHA-256, first 128 bits, as hex (international._h128). */
async function h128(data) {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)).subarray(0, 16));
}

/** revocation_hashes: the DCC's revocation hashes by type (UCI; country code + UCI, for each
 *  of the CWT issuer and the entry's co; the signature, for ECDSA its r only), as hex. */
export async function revocationHashes(uci, countries, alg, signature) {
  const signed = alg === ALG_ES256 ? signature.subarray(0, signature.length >> 1) : signature;
  const coded = new TextEncoder().encode(uci);
  const prefixed = [];
  for (const c of countries) {
    if (!c) continue;
    const h = await h128(concat(new TextEncoder().encode(c), coded));
    if (!prefixed.includes(h)) prefixed.push(h);
  }
  return { UCI: [await h128(coded)], COUNTRYCODEUCI: prefixed, SIGNATURE: [await h128(signed)] };
}

/** DccRevocation.holds via _is_revoked: a batch of the signer's kid, or of its country
 *  (UNKNOWN_KID), lists one of the certificate's hashes of the batch's type. */
async function isRevoked(revocation, signer, entry, iss, alg, signature) {
  const tables = [revocation.byKid.get(signer.kid), revocation.byCountry.get(signer.subjectCountry ?? "")].filter((t) => t);
  if (!tables.length) return false; // no batch of this signer or its country: no hash to compute
  const hashes = await revocationHashes(entry.ci, [iss, text(entry.co)], alg, signature);
  for (const table of tables) {
    for (const [kind, values] of Object.entries(hashes)) {
      const revoked = table.get(kind);
      if (revoked && values.some((h) => revoked.has(h))) return true;
    }
  }
  return false;
}

/** dcc_revocation: the trust's dcc_revocation rows by kid (hex) or, for UNKNOWN_KID (kid
 *  null), by country; then by hash type: a set of hashes (hex). */
function dccRevocation(rows) {
  const byKid = new Map();
  const byCountry = new Map();
  for (const row of rows) {
    const kid = row.kid;
    if (kid !== null && (typeof kid !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(kid))) throw new Error("revocation kid");
    const outer = kid === null ? byCountry : byKid;
    const key = kid === null ? String(row.country) : kid.toLowerCase();
    if (!outer.has(key)) outer.set(key, new Map());
    const table = outer.get(key);
    const type = String(row.hash_type);
    if (!table.has(type)) table.set(type, new Set());
    if (!Array.isArray(row.hashes)) throw new Error("revocation hashes");
    for (const h of row.hashes) table.get(type).add(hex(fromBase64(h)));
  }
  return { byKid, byCountry };
}

/** verify_dcc(text, certificates=trust.signers, now): {valid, reason, claims, facts}. */
export async function verifyDcc(input, trust, now) {
  let msg;
  try {
    if (typeof input !== "string") throw new Refused("unknown prefix");
    if (codePoints(input) > MAX_HC1_LENGTH) throw new Refused("too long");
    if (!input.startsWith(HC1)) throw new Refused("unknown prefix");
    let packed;
    try {
      packed = b45decode(input.slice(HC1.length));
    } catch {
      throw new Refused("malformed: base45");
    }
    if (!packed.length || packed[0] !== 0x78) throw new Refused("malformed: zlib");
    msg = parseCose(await inflate(packed, "deflate", MAX_HC1_INFLATED, "malformed: zlib"));
  } catch (exc) {
    if (exc instanceof Refused) return refused(exc.reason);
    throw exc;
  }
  if (msg.kid === null) return refused("missing kid");
  const signer = trust.signers.get(hex(msg.kid));
  if (signer === undefined) return refused("unknown kid");
  if (!signer.keyType) return refused("dsc unusable");
  const bad = await verifyCose(msg.alg, signer, msg.signature, msg.toBeSigned);
  if (bad !== null) return refused(bad);
  // Authenticated from here on.
  let cwt;
  try {
    cwt = cborDecode(markValues(msg.payload), { useMaps: true, tags: CLAIM_TAGS });
  } catch {
    return refused("malformed: claims");
  }
  if (!(cwt instanceof Map)) return refused("malformed: claims");
  const iat = number(unmarked(cwt.get(6)));
  const exp = number(unmarked(cwt.get(4)));
  const iss = cwt.has(1) ? cwt.get(1) : null;
  if (iat === null || exp === null || (iss !== null && typeof iss !== "string")) return refused("malformed: claims");
  const hcert = cwt.get(-260);
  const dcc = hcert instanceof Map && hcert.has(1) ? plain(hcert.get(1)) : null;
  const claims = { iss, iat, exp, hcert: unmarked(dcc) };
  if (now < iat) return refused("issued in the future", claims);
  if (now > exp) return refused("expired", claims);
  if (now < signer.notBefore) return refused("dsc not yet valid", claims);
  if (now > signer.notAfter) return refused("dsc expired", claims);
  if (!(signer.notBefore <= iat && iat <= signer.notAfter)) return refused("dsc not valid at issue", claims);
  const kind = hcertKind(dcc);
  if (kind.length > 1) return refused(kind, claims);
  if (signer.usages !== null && !signer.usages.has(kind)) return refused("wrong key usage", claims);
  const entry = hcertEntry(dcc, kind);
  if (typeof entry === "string") return refused(entry, claims);
  if (await isRevoked(trust.revocation, signer, entry, iss, msg.alg, msg.signature)) return refused("revoked", claims);
  return { valid: true, reason: null, claims, facts: dccFacts(kind, entry, dcc, iss, iat, exp) };
}

// ----------------------------------------------------------------------------- SHC
function numericDecode(digits) {
  if (digits.length % 2) throw new Refused("malformed: numeric");
  let out = "";
  for (let i = 0; i < digits.length; i += 2) {
    const v = Number(digits.slice(i, i + 2));
    if (v > 77) throw new Refused("malformed: numeric");
    out += String.fromCharCode(v + 45);
  }
  return out;
}

/** join_chunks: the JWS of one card from its shc:/ text(s), every chunk exactly once. */
export function joinChunks(texts) {
  if (!texts.length) throw new Refused("unknown prefix");
  if (texts.length > MAX_CHUNKS) throw new Refused("chunk count");
  const parts = new Map();
  let count = null;
  for (const t of texts) {
    if (!t.startsWith(SHC)) throw new Refused("unknown prefix");
    const m = CHUNK.exec(t);
    if (m === null) throw new Refused("malformed: numeric");
    if (m[1] === undefined) {
      if (texts.length !== 1) throw new Refused("chunk header");
      return numericDecode(m[3]);
    }
    const index = Number(m[1]);
    const n = Number(m[2]);
    if (count === null) count = n;
    if (n !== count) throw new Refused("chunk count");
    if (index > n) throw new Refused("chunk index");
    if (parts.has(index)) throw new Refused("chunk duplicate");
    parts.set(index, numericDecode(m[3]));
  }
  if (parts.size !== count) throw new Refused("chunk missing");
  if (count > 1 && [...parts.values()].some((p) => p.length > MAX_CHUNK_JWS)) throw new Refused("chunk too long");
  let jws = "";
  for (let i = 1; i <= count; i++) jws += parts.get(i);
  return jws;
}

/** Where a chunk of a chunked card stands: [index, count], or null for a whole card. */
export function chunkOf(t) {
  const m = CHUNK.exec(t);
  return m && m[1] !== undefined ? [Number(m[1]), Number(m[2])] : null;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
function json(bytes, reason) {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    throw new Refused(reason);
  }
}

function parseJws(jws) {
  if (jws.length > MAX_JWS_LENGTH) throw new Refused("too long");
  const parts = jws.split(".");
  if (parts.length !== 3) throw new Refused("malformed: JWS");
  const [h, p, s] = parts;
  const header = json(b64urlDecode(h), "malformed: JWS");
  if (!isDict(header) || Object.keys(header).some((k) => !HEADER_KEYS.has(k))) throw new Refused("malformed: JWS header");
  if (header.alg !== "ES256") throw new Refused("unsupported algorithm");
  if (header.zip !== "DEF") throw new Refused("malformed: JWS header");
  const kid = header.kid;
  if (typeof kid !== "string" || codePoints(kid) < 1 || codePoints(kid) > 128) throw new Refused("malformed: JWS header");
  return { kid, signingInput: new TextEncoder().encode(`${h}.${p}`), payload: b64urlDecode(p), signature: b64urlDecode(s) };
}

function codes(concept, system = null) {
  if (!isDict(concept) || !Array.isArray(concept.coding)) return [];
  return concept.coding.filter((c) => isDict(c) && typeof c.code === "string" && (system === null || c.system === system)).map((c) => c.code);
}

const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function shcFacts(payload, bundle) {
  const immunizations = [];
  const observations = [];
  let patient = null;
  for (const entry of Array.isArray(bundle.entry) ? bundle.entry : []) {
    const resource = isDict(entry) ? entry.resource : null;
    if (!isDict(resource)) continue;
    const rtype = resource.resourceType;
    if (rtype === "Immunization" && resource.status === "completed") immunizations.push(resource);
    else if (rtype === "Observation" && (resource.status === "final" || resource.status === "amended")) observations.push(resource);
    else if (rtype === "Patient" && patient === null) patient = resource;
  }
  let vaccination = null;
  if (immunizations.length) {
    const dates = immunizations.map((i) => text(i.occurrenceDateTime)).filter((d) => d).sort(byText);
    const cvx = new Set(immunizations.flatMap((i) => codes(i.vaccineCode, CVX)));
    const single = [...cvx].some((c) => SINGLE_DOSE_CVX.has(c));
    const doses = immunizations.length;
    vaccination = {
      doses,
      series: single ? 1 : 2,
      complete: doses >= 2 || single,
      last_date: dates.length ? [...dates[dates.length - 1]].slice(0, 10).join("") : null,
      product: cvx.size ? [...cvx].sort(byText).at(-1) : null,
      disease: "840539006",
    };
  }
  let test = null;
  const sorted = [...observations].sort((a, b) => byText(text(a.effectiveDateTime) || "", text(b.effectiveDateTime) || ""));
  for (const obs of sorted) {
    const loinc = codes(obs.code, LOINC);
    const kind = loinc.some((c) => PCR_LOINC.has(c)) ? "pcr" : loinc.some((c) => RAT_LOINC.has(c)) ? "rat" : "other";
    test = {
      type: kind,
      negative: codes(obs.valueCodeableConcept).some((c) => NEGATIVE_SNOMED.has(c)),
      sampled_at: text(obs.effectiveDateTime),
      disease: "840539006",
    };
  }
  let name = null;
  let dob = null;
  if (patient !== null) {
    const names = patient.name;
    const first = Array.isArray(names) && names.length && isDict(names[0]) ? names[0] : {};
    const given = first.given;
    const parts = [text(first.family), ...(Array.isArray(given) ? given.filter((g) => typeof g === "string") : [])];
    name = parts.filter((x) => x).join(" ") || null;
    dob = text(patient.birthDate);
  }
  const nbf = number(payload.nbf);
  const exp = number(payload.exp);
  return {
    kind: "shc",
    issuer: payload.iss,
    issuer_country: null,
    issued_at: nbf,
    expires_at: exp,
    colour: null,
    vaccination,
    test,
    recovery: null,
    holder_name: name,
    holder_dob: dob,
  };
}

/** verify_shc(text or chunks, jwks=trust.issuers, now): {valid, reason, claims, facts}. */
export async function verifyShc(input, trust, now) {
  const texts = typeof input === "string" ? input.split(PY_SPACE).filter((t) => t) : [...input];
  let jws;
  let payload;
  try {
    if (texts.reduce((n, t) => n + codePoints(t), 0) > 2 * MAX_JWS_LENGTH + 64) throw new Refused("too long");
    jws = parseJws(joinChunks(texts));
    // Inflated before the signature is checked (the issuer is in the payload): bounded.
    payload = json(await inflate(jws.payload, "deflate-raw", MAX_SHC_INFLATED, "malformed: deflate"), "malformed: payload");
  } catch (exc) {
    if (exc instanceof Refused) return refused(exc.reason);
    throw exc;
  }
  const iss = isDict(payload) ? payload.iss : null;
  if (typeof iss !== "string") return refused("malformed: payload");
  const issuer = trust.issuers.get(iss);
  if (issuer === undefined) return refused("unknown issuer");
  const key = issuer.keys.get(jws.kid);
  if (key === undefined) return refused("unknown kid");
  if (jws.signature.length !== 64) return refused("bad signature");
  let ok = false;
  try {
    ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, jws.signature, jws.signingInput);
  } catch {
    ok = false;
  }
  if (!ok) return refused("bad signature");
  // Authenticated from here on.
  const nbf = number(payload.nbf);
  const exp = number(payload.exp);
  const vc = payload.vc;
  const subject = isDict(vc) ? vc.credentialSubject : null;
  const bundle = isDict(subject) ? subject.fhirBundle : null;
  const types = isDict(vc) ? vc.type : null;
  if (
    nbf === null ||
    (exp === null && payload.exp !== undefined && payload.exp !== null) ||
    !Array.isArray(types) ||
    !types.includes(SHC_TYPE) ||
    !isDict(bundle) ||
    bundle.resourceType !== "Bundle"
  ) {
    return refused("malformed: payload", payload);
  }
  if (now < nbf) return refused("not yet valid", payload);
  if (exp !== null && now > exp) return refused("expired", payload);
  if (shcRevoked(issuer, jws.kid, payload, nbf)) return refused("revoked", payload);
  return { valid: true, reason: null, claims: payload, facts: shcFacts(payload, bundle) };
}

// ----------------------------------------------------------------------------- facts
/** Python's datetime.isoformat() of an instant, "+00:00" written "Z" (international._iso). */
export function isoText(seconds, offsetMinutes = 0) {
  const whole = Math.floor(seconds);
  const micro = Math.round((seconds - whole) * 1e6);
  const local = new Date((whole + offsetMinutes * 60) * 1000).toISOString().slice(0, 19);
  const frac = micro ? "." + String(micro).padStart(6, "0") : "";
  if (!offsetMinutes) return `${local}${frac}Z`;
  const sign = offsetMinutes < 0 ? "-" : "+";
  const m = Math.abs(offsetMinutes);
  return `${local}${frac}${sign}${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:.(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/u;

/** datetime.fromisoformat of the forms certificates use (naive: UTC): {seconds, offset}. */
export function parseInstant(value) {
  if (typeof value !== "string") return null;
  const m = ISO.exec(value);
  if (m === null) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", f = "", zone] = m;
  const days = Date.UTC(+y, +mo - 1, +d);
  const check = new Date(days);
  if (check.getUTCFullYear() !== +y || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d) return null;
  if (+h > 23 || +mi > 59 || +s > 59) return null;
  let offset = 0;
  if (zone && zone !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    offset = (zone[0] === "-" ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
    if (Math.abs(offset) >= 24 * 60) return null;
  }
  const seconds = days / 1000 + +h * 3600 + +mi * 60 + +s + (f ? Number(`0.${f.slice(0, 6)}`) : 0) - offset * 60;
  return { seconds, offset };
}

function parseDay(value) {
  if (typeof value !== "string") return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.slice(0, 10));
  if (m === null) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3]);
  const check = new Date(ms);
  if (check.getUTCMonth() !== +m[2] - 1 || check.getUTCDate() !== +m[3]) return null;
  return ms / 86400000;
}

/** CertificateFacts.data(now): the ``certificate`` section of a policy's data. */
export function certificateData(c, now) {
  let test = null;
  if (c.test !== null) {
    const sampled = parseInstant(c.test.sampled_at);
    test = { ...c.test, hours_since_sample: sampled === null ? null : Math.floor((now - sampled.seconds) / 3600) };
  }
  let vaccination = null;
  if (c.vaccination !== null) {
    const last = parseDay(c.vaccination.last_date);
    vaccination = { ...c.vaccination, days_since_last: last === null ? null : Math.floor(now / 86400) - last };
  }
  return {
    kind: c.kind,
    issuer: c.issuer ?? null,
    issuer_country: c.issuer_country ?? null,
    issued_at: c.issued_at == null ? null : isoText(c.issued_at),
    expires_at: c.expires_at == null ? null : isoText(c.expires_at),
    colour: c.colour ?? null,
    vaccination,
    test,
    recovery: c.recovery === null ? null : { ...c.recovery },
  };
}

// ----------------------------------------------------------------------------- display
const COMPOUND_SURNAMES = new Set(
  `欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫
    宗政 濮阳 公冶 太叔 申屠 公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官
    司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 宰父 谷梁 拓跋 夹谷 轩辕 令狐 段干 百里 呼延
    东郭 南门 羊舌 微生 公户 公玉 公仪 梁丘 公仲 公上 公门 公山 公坚 左丘 公伯 西门 公祖
    第五 公乘 贯丘 公皙 南荣 东里 东宫 仲长 子书 子桑 即墨 达奚 褚师 欧侯 纳兰 完颜`.split(/\s+/),
);
const NAME_SEPARATORS = new Set([..."·•‧・.．"]);
const isHan = (ch) => {
  const o = ch.codePointAt(0);
  return (o >= 0x3400 && o <= 0x4dbf) || (o >= 0x4e00 && o <= 0x9fff) || (o >= 0xf900 && o <= 0xfaff) || (o >= 0x20000 && o <= 0x3ffff);
};

/** domain/identity.mask_name: the surname, ``*`` for the rest. */
export function maskName(name) {
  const words = name.split(PY_SPACE).filter((w) => w);
  const flat = words.join(" ");
  if (!flat) return "";
  const chars = [...flat];
  if (chars.some(isHan)) {
    const compact = chars.filter((c) => c !== " ");
    if (compact.some((c) => NAME_SEPARATORS.has(c))) return compact[0] + compact.slice(1).map((c) => (NAME_SEPARATORS.has(c) ? c : "*")).join("");
    if (compact.length === 1) return compact[0] + "*";
    const surname = compact.length >= 3 && COMPOUND_SURNAMES.has(compact[0] + compact[1]) ? 2 : 1;
    return compact.slice(0, surname).join("") + "*".repeat(compact.length - surname);
  }
  if (words.length > 1) return words[0] + " *";
  return chars[0] + "*";
}

// ----------------------------------------------------------------------------- the decision
/** The facts an entry policy decides on for a valid certificate (Verifier._international). */
export function certificateFacts(cert, { now, region, placeKind = "any", temperature = null, areaLevel = null }) {
  let hours = null;
  if (cert.test !== null && cert.test.negative) {
    const since = certificateData(cert, now).test.hours_since_sample;
    if (since !== null) hours = Math.max(0, since);
  }
  return makeFacts({
    now, region, place_kind: placeKind, online: false, source: "claims", kind: cert.kind, issuer: cert.issuer,
    issued_at: cert.issued_at, hours_since_negative: hours, temperature, area_level: areaLevel, certificate: cert,
  });
}

/** What the officer compares with the passport (verifier._holder_display). */
export function holderDisplay(cert) {
  return {
    masked_name: cert.holder_name ? maskName(cert.holder_name) : "",
    masked_id: "",
    date_of_birth: cert.holder_dob || "",
    colour_zh: "",
    colour_en: "",
  };
}
