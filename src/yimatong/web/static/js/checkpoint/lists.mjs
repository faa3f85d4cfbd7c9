// The hub's signed lists, verified in the browser (verifier/lists.py): trust list (a full
// document and the deltas since), risk areas, one region's policies. Every document is
// checked against hub keys this device trusts: the pinned ones, and a new 000000 key only
// when a list signed by a trusted key introduces it (rollover). Canonical bytes are JCS.
import { Keyring, fromBase64, importKey, verifySignature } from "./code.mjs";
import { canonicalBytes } from "./jcs.mjs";
import { NATIONAL, PolicySet, parseTime } from "./policy.mjs";

export class BadDocument extends Error {}

function b64url(text) {
  return fromBase64(text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4));
}

/** The payload of ``doc`` if one of ``keys`` (kid hex → imported key) signed it. */
export async function verifyDocument(doc, keys) {
  const payload = doc?.payload;
  const sig = doc?.signature;
  if (!payload || typeof payload !== "object" || Array.isArray(payload) || !sig || typeof sig.kid !== "string") {
    throw new BadDocument("malformed signed document");
  }
  const key = keys.get(sig.kid);
  if (!key) throw new BadDocument(`signed by an unknown key ${sig.kid}`);
  if (sig.alg !== key.alg) throw new BadDocument("algorithm does not match the key");
  let ok = false;
  try {
    ok = await verifySignature(key, b64url(sig.value), canonicalBytes(payload));
  } catch {
    ok = false;
  }
  if (!ok) throw new BadDocument("bad signature");
  return payload;
}

async function* chain(documents, keys, kind) {
  let version = null;
  for (let i = 0; i < documents.length; i++) {
    const payload = await verifyDocument(documents[i], keys);
    if (payload.type !== kind) throw new BadDocument(`document ${i} is not a ${kind} document`);
    const since = Number(payload.since || 0);
    const current = Number(payload.version);
    if (!Number.isInteger(current)) throw new BadDocument(`document ${i} has no version`);
    if (i === 0 && since !== 0) throw new BadDocument("the first document must be a full list");
    if (i > 0 && since !== version) throw new BadDocument(`document ${i} does not follow version ${version}`);
    version = current;
    yield payload;
  }
}

/** Issuers and keys merged from a full trust list and its deltas, from ``pinned`` keys. */
export async function buildTrust(documents, pinned) {
  if (!documents.length) throw new BadDocument("no trust list");
  const hubKeys = new Map(pinned);
  const issuers = new Map();
  const keys = new Map();
  let revoked = false;
  let version = 0;
  let issued = null;
  for await (const payload of chain(documents, hubKeys, "trust-list")) {
    try {
      for (const row of payload.issuers) issuers.set(String(row.region), row);
      for (const row of payload.keys) {
        keys.set(String(row.kid), row);
        if (row.region === NATIONAL) {
          if (row.revoked_at) {
            revoked = revoked || hubKeys.has(row.kid);
            hubKeys.delete(row.kid);
          } else {
            hubKeys.set(row.kid, { ...(await importKey(row)), public_key: row.public_key });
          }
        }
      }
      version = Number(payload.version);
      issued = parseTime(payload.issued_at);
      if (issued === null) throw new Error("issued_at");
    } catch (exc) {
      if (exc instanceof BadDocument) throw exc;
      throw new BadDocument(`malformed trust list: ${exc.message}`);
    }
  }
  const entries = [];
  for (const row of keys.values()) {
    const issuer = issuers.get(String(row.region));
    if (!issuer || issuer.status !== "active") continue; // a suspended issuer's codes fail everywhere
    try {
      const imported = await importKey(row);
      entries.push({
        kid: row.kid,
        issuer: String(row.region),
        ...imported,
        not_before: parseTime(row.not_before),
        not_after: row.not_after ? parseTime(row.not_after) : null,
        revoked_at: row.revoked_at ? parseTime(row.revoked_at) : null,
      });
    } catch (exc) {
      throw new BadDocument(`malformed key in the trust list: ${exc.message}`);
    }
  }
  const legacy = [...issuers.entries()]
    .filter(([, r]) => r.kind === "legacy" && r.legacy_prefix && r.status === "active")
    .map(([region, r]) => [String(r.legacy_prefix), region])
    .sort((a, b) => b[0].length - a[0].length);
  return { version, issued_at: issued, keyring: new Keyring(entries), hubKeys, issuers, legacy, hubKeyRevoked: revoked };
}

/** The risk level of ``area`` at ``when`` (RiskMap.level_at): the finest code in force wins. */
function ancestors(area) {
  const out = [area];
  if (area.length > 9) out.push(area.slice(0, 9));
  const county = area.slice(0, 6);
  if (area.length > 6) out.push(county);
  if (county.slice(4) !== "00") out.push(county.slice(0, 4) + "00");
  if (county.slice(2) !== "0000") out.push(county.slice(0, 2) + "0000");
  return out;
}
const RANK = { low: 0, medium: 1, high: 2 };

export async function buildRisk(documents, hubKeys) {
  if (!documents.length) throw new BadDocument("no risk-area list");
  const periods = new Map();
  let version = 0;
  let issued = null;
  for await (const payload of chain(documents, hubKeys, "risk-areas")) {
    if (!Array.isArray(payload.periods)) throw new BadDocument("malformed risk-area list");
    for (const row of payload.periods) periods.set(String(row.id), row);
    version = Number(payload.version);
    issued = parseTime(payload.issued_at);
  }
  const byArea = new Map();
  for (const p of periods.values()) {
    const from = parseTime(p.from);
    const to = p.to ? parseTime(p.to) : null;
    if (from === null || !(p.level in RANK)) throw new BadDocument("malformed risk period");
    if (to !== null && to <= from) continue;
    if (!byArea.has(p.area)) byArea.set(p.area, []);
    byArea.get(p.area).push({ level: p.level, from, to });
  }
  const level = (area, when) => {
    let best = null;
    ancestors(area).forEach((code, depth) => {
      for (const p of byArea.get(code) ?? []) {
        if (p.from <= when && (p.to === null || when < p.to)) {
          const key = [-depth, p.from, RANK[p.level]];
          const better =
            best === null || key[0] > best.key[0] || (key[0] === best.key[0] && (key[1] > best.key[1] || (key[1] === best.key[1] && key[2] > best.key[2])));
          if (better) best = { key, level: p.level };
        }
      }
    });
    return best ? best.level : "low";
  };
  return { version, issued_at: issued, level };
}

export async function buildPolicies(documents, hubKeys, region) {
  if (documents.length !== 1) throw new BadDocument("a policies entry holds one document");
  const payload = await verifyDocument(documents[0], hubKeys);
  if (payload.type !== "policies" || payload.region !== region) throw new BadDocument(`not the policies of ${region}`);
  try {
    const policies = PolicySet.fromPayload(payload);
    const issued = parseTime(payload.issued_at);
    if (issued === null) throw new Error("issued_at");
    return { version: policies.version, issued_at: issued, policies };
  } catch (exc) {
    throw new BadDocument(`malformed policies: ${exc.message}`);
  }
}
