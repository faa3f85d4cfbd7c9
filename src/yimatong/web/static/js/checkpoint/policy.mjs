// Entry policies in the browser: the facts a policy sees, which policy applies, and the
// decision — a line-by-line port of verifier/policy.py and verifier/explain.py, evaluated with
// the official certlogic-js. Times are epoch seconds; ``iso`` writes them as Python's
// ``isoformat(timespec="seconds")`` does, so the data a rule sees is the same in both.
import { evaluate } from "../../vendor/certlogic-js/certlogic.mjs";
import { EU_VALUE_SETS } from "./dcc-schema.mjs";
import { certificateData } from "./international.mjs";
import { UNKNOWN_FACTS, colourLabel, noPolicy, placeLabel, reasonLabel } from "./texts.mjs";

export const NATIONAL = "000000";
/** external.countryCode of the EU's business rules: the country the checkpoint is in. */
export const COUNTRY_CODE = "CN";
export const PLACE_KINDS = ["any", "transport", "residential", "hospital", "school", "office"];
const FAVOURABLE_TEMPERATURE = 365;
const FAVOURABLE_DAYS_AGO = 100000;
const HOLDER_FACTS = ["colour", "temperature", "tests"];
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export const iso = (seconds) =>
  seconds == null ? null : new Date(Math.floor(seconds * 1000)).toISOString().slice(0, 19) + "+00:00";

/** RFC 3339 text with an offset → epoch seconds (null if it is not one). */
export function parseTime(value) {
  if (typeof value !== "string" || !RFC3339.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms / 1000;
}

/** Python's round() of a float: halves to even. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** Python's f"{x:.1f}": the exact binary value, ties to even (toFixed takes the larger). */
export function fixed1(x) {
  const exact = Math.abs(x).toFixed(25);
  const [, frac] = exact.split(".");
  if (frac.slice(1).startsWith("5") && /^0*$/.test(frac.slice(2))) {
    const tenths = Math.trunc(Math.abs(x) * 10);
    const even = tenths % 2 === 0 ? tenths : tenths + 1;
    return (x < 0 ? "-" : "") + (even / 10).toFixed(1);
  }
  return x.toFixed(1);
}

export function regionChain(region) {
  if (!/^[0-9]{6}$/.test(region)) throw new Error("a region is a six-digit code");
  return [...new Set([region, region.slice(0, 4) + "00", region.slice(0, 2) + "0000", NATIONAL])];
}

// ----------------------------------------------------------------------------- policies
export const NATIONAL_DEFAULT = {
  id: 0,
  region: NATIONAL,
  place_kind: "any",
  version: 0,
  rule: { "===": [{ var: "code.colour" }, "green"] },
  description: "绿码 / a green code (national default: no entry policy is set here)",
  valid_from: parseTime("2020-01-01T00:00:00+00:00"),
  valid_to: null,
  national: true,
};

function policyFrom(raw) {
  const p = {
    id: raw.id,
    region: String(raw.region),
    place_kind: String(raw.place_kind),
    version: raw.version,
    rule: raw.rule,
    description: String(raw.description || ""),
    valid_from: parseTime(raw.valid_from),
    valid_to: raw.valid_to ? parseTime(raw.valid_to) : null,
    set_by: raw.set_by ?? null,
  };
  if (!Number.isInteger(p.id) || !Number.isInteger(p.version) || p.valid_from === null) throw new Error("malformed policy");
  if (raw.valid_to && p.valid_to === null) throw new Error("malformed policy");
  if (!/^[0-9]{6}$/.test(p.region) || !PLACE_KINDS.includes(p.place_kind)) throw new Error("malformed policy: region or place_kind");
  return p;
}

/** The policies of one region and those containing it (PolicySet.from_payload). */
export class PolicySet {
  constructor(region, version, policies) {
    this.region = region;
    this.version = version;
    this.policies = policies;
    this.index = new Map();
    for (const p of policies) {
      const key = `${p.region}/${p.place_kind}`;
      if (!this.index.has(key)) this.index.set(key, []);
      this.index.get(key).push(p);
    }
    for (const list of this.index.values()) list.sort((a, b) => b.version - a.version);
  }
  get governedBy() {
    const present = new Set(this.policies.map((p) => p.region));
    return regionChain(this.region).filter((r) => present.has(r));
  }
  static fromPayload(payload) {
    if (payload.type !== "policies") throw new Error("not a policies document");
    if (!Array.isArray(payload.policies)) throw new Error("malformed policies document");
    const region = String(payload.region);
    if (!/^[0-9]{6}$/.test(region)) throw new Error("malformed policies document: region");
    const made = new PolicySet(region, Number(payload.version || 0), payload.policies.map(policyFrom));
    const governed = payload.governed_by;
    const dflt = payload.national_default;
    if (!Array.isArray(governed) || typeof dflt !== "boolean") {
      throw new Error("the policies document does not say which region's policies apply");
    }
    if (JSON.stringify(governed) !== JSON.stringify(made.governedBy) || dflt !== (governed.length === 0)) {
      throw new Error("the policies document contradicts itself (governed_by)");
    }
    return made;
  }
  select(region, placeKind, now) {
    const kinds = placeKind !== "any" ? [placeKind, "any"] : ["any"];
    for (const r of regionChain(region)) {
      for (const kind of kinds) {
        for (const p of this.index.get(`${r}/${kind}`) ?? []) {
          if (p.valid_from <= now && (p.valid_to === null || now < p.valid_to)) return p;
        }
      }
    }
    return null;
  }
}

// ----------------------------------------------------------------------------- facts
export function staysFromReasons(reasons, now) {
  const out = [];
  for (const r of reasons) {
    const isObj = r !== null && typeof r === "object" && !Array.isArray(r);
    const code = isObj ? r.code : r;
    if (typeof code !== "string" || !code.startsWith("stay.")) continue;
    const level = code.includes("high") ? "high" : code.includes("medium") ? "medium" : null;
    if (level === null) continue;
    let days = null;
    let area = null;
    let source = "code";
    if (isObj) {
      source = "online";
      const since = parseTime(r.since);
      if (since !== null) days = Math.max(0, Math.floor((now - since) / 86400));
      if (r.detail && typeof r.detail === "object" && typeof r.detail.area === "string") area = r.detail.area;
    }
    out.push({ level, days_ago: days, area, source });
  }
  return out;
}

const reasonCodes = (reasons) =>
  Array.isArray(reasons)
    ? reasons.map((r) => (r !== null && typeof r === "object" ? r.code : r)).filter((c) => typeof c === "string")
    : [];

const FACT_DEFAULTS = {
  place_kind: "any", online: false, source: "claims", colour: null, signed_colour: null, kind: null,
  issuer: null, issuer_kind: null, issued_at: null, colour_since: null, reasons: [], online_colour: null,
  online_reasons: [], tests_known: true, hours_since_negative: null, stays: [], temperature: null, area_level: null,
  certificate: null,
};
/** An international certificate (Facts.foreign): it has no colour, not an unknown one. */
const foreign = (f) => f.certificate !== null && f.certificate.kind !== "ymt1";
export const makeFacts = (values) => ({ ...FACT_DEFAULTS, ...values });

/** facts_from_claims: a code verified offline; the signed claims are all there is. */
export function factsFromClaims(claims, { now, region, placeKind = "any", temperature = null, areaLevel = null, issuerKind = null }) {
  const printed = claims.kind === "printed";
  let hours = claims.hours_since_negative_test;
  if (hours !== null) hours += Math.max(0, Math.floor((now - claims.issued_at) / 3600));
  return makeFacts({
    now, region, place_kind: placeKind, online: false, source: "claims",
    colour: printed ? null : claims.colour, signed_colour: claims.colour, kind: claims.kind,
    issuer: claims.issuer, issuer_kind: issuerKind, issued_at: claims.issued_at, colour_since: claims.colour_since,
    reasons: [...claims.reasons], tests_known: !printed, hours_since_negative: printed ? null : hours,
    stays: staysFromReasons(claims.reasons, now), temperature, area_level: areaLevel,
  });
}

/** facts_from_answer: the hub's Mode 2 answer (or a look-up), ``signed`` what we verified. */
export function factsFromAnswer(answer, { now, region, placeKind = "any", temperature = null, areaLevel = null, signed = null }) {
  const source = String(answer.status || "online");
  let colour = typeof answer.colour === "string" ? answer.colour : null;
  const kind = typeof answer.kind === "string" ? answer.kind : null;
  signed = signed || {};
  const signedColour = answer.claimed_colour || signed.colour || colour;
  const reasons = answer.reasons || [];
  const live = ["online", "summary", "lookup"].includes(source);
  if (source === "claims" && kind === "printed") colour = null;
  let testsKnown = "hours_since_negative_test" in answer;
  let hours = testsKnown ? answer.hours_since_negative_test : null;
  if (hours !== null && hours !== undefined && !Number.isInteger(hours)) [hours, testsKnown] = [null, false];
  if (hours === undefined) hours = null;
  const issuedAt = parseTime(answer.issued_at) ?? signed.issued_at ?? null;
  if (hours !== null && !live && issuedAt !== null) hours += Math.max(0, Math.floor((now - issuedAt) / 3600));
  const codes = reasonCodes(reasons);
  return makeFacts({
    now, region, place_kind: placeKind, online: true, source, colour,
    signed_colour: typeof signedColour === "string" ? signedColour : null, kind,
    issuer: typeof answer.issuer === "string" ? answer.issuer : null,
    issuer_kind: answer.issuer_kind || signed.issuer_kind || null, issued_at: issuedAt,
    colour_since: parseTime(answer.colour_since), reasons: codes,
    online_colour: live ? colour : null, online_reasons: live ? codes : [],
    tests_known: testsKnown, hours_since_negative: hours,
    stays: staysFromReasons(Array.isArray(reasons) ? reasons : [], now), temperature, area_level: areaLevel,
  });
}

export function unknownFacts(f) {
  const missing = [];
  if (f.colour === null && !foreign(f)) missing.push("colour");
  if (!f.tests_known) missing.push("tests");
  if (f.stays.some((s) => s.days_ago === null)) missing.push("stays");
  if (f.temperature === null) missing.push("temperature");
  return missing;
}

function favourable(f, names) {
  const chosen = new Set(names);
  const changes = {};
  if (chosen.has("colour") && !foreign(f)) {
    Object.assign(changes, {
      colour: "green", signed_colour: "green", online_colour: f.online_colour === null ? null : "green",
      reasons: [], online_reasons: [], stays: [],
    });
  }
  if (chosen.has("temperature")) changes.temperature = FAVOURABLE_TEMPERATURE / 10;
  if (chosen.has("tests")) Object.assign(changes, { tests_known: true, hours_since_negative: 0 });
  return { ...f, ...changes };
}

/** Facts.data: the CertLogic data context; facts in ``assume`` get their favourable value. */
export function factsData(f, assume = []) {
  const assumed = new Set(assume);
  let colour = f.colour;
  if (colour === null && assumed.has("colour")) colour = "green";
  let hours = f.hours_since_negative;
  let hasNegative = hours !== null;
  if (!f.tests_known) {
    if (assumed.has("tests")) [hours, hasNegative] = [0, true];
    else hasNegative = null;
  }
  const sampled = hours !== null ? iso(f.now - hours * 3600) : null;
  const temperature =
    f.temperature !== null ? roundHalfEven(f.temperature * 10) : assumed.has("temperature") ? FAVOURABLE_TEMPERATURE : null;
  const stays = f.stays.map((s) => ({
    level: s.level,
    days_ago: s.days_ago === null && assumed.has("stays") ? FAVOURABLE_DAYS_AGO : s.days_ago,
    area: s.area,
    source: s.source,
  }));
  const cert = f.certificate;
  const dcc = cert !== null && cert.kind === "dcc";
  return {
    code: {
      colour, signed_colour: f.signed_colour, kind: f.kind, issuer: f.issuer, issuer_kind: f.issuer_kind,
      issued_at: iso(f.issued_at), colour_since: iso(f.colour_since), reasons: [...f.reasons],
    },
    status: { online: f.online, source: f.source, colour: f.online_colour, reasons: [...f.online_reasons] },
    tests: { has_negative: hasNegative, hours_since_negative: hours, negative_sampled_at: sampled },
    stays,
    scan: { temperature_decidegrees: temperature, place_kind: f.place_kind },
    certificate:
      f.certificate !== null
        ? certificateData(f.certificate, f.now)
        : certificateData({ kind: "ymt1", issuer: f.issuer, issued_at: f.issued_at, colour, vaccination: null, test: null, recovery: null }, f.now),
    external: {
      now: iso(f.now), region: f.region, place_kind: f.place_kind, online: f.online, area_level: f.area_level,
      // what the EU's business rules read (CertLogic's external parameters)
      validationClock: iso(f.now), valueSets: EU_VALUE_SETS, countryCode: COUNTRY_CODE,
      exp: dcc && cert.expires_at != null ? iso(cert.expires_at) : null,
      iat: dcc && cert.issued_at != null ? iso(cert.issued_at) : null,
    },
    // a DCC's hcert without nam and dob, as the EU's business rules read it (null otherwise)
    payload: dcc && cert.payload ? { ...cert.payload } : null,
  };
}

// ----------------------------------------------------------------------------- CertLogic
/** An evaluation error with ``path``, the JSON pointer of the unusable operand (as Python's). */
export class CertLogicEvaluationError extends Error {
  constructor(message, path) {
    super(message);
    this.path = path;
  }
}

/** Evaluate with certlogic-js; on an error, find where (``locate``) as the Python evaluator says. */
export function run(rule, data) {
  try {
    return evaluate(rule, data);
  } catch (exc) {
    throw new CertLogicEvaluationError(exc.message, locate(rule, data, ""));
  }
}

const pointer = (path, token) => `${path}/${String(token).replaceAll("~", "~0").replaceAll("/", "~1")}`;
const isInt = (v) => typeof v === "number" && Number.isInteger(v);
function boolsiness(v) {
  if (v === true) return true;
  if (v === false || v === null || v === undefined) return false;
  if (typeof v === "string" || Array.isArray(v)) return v.length > 0;
  if (typeof v === "number") return Number.isFinite(v) ? v !== 0 : null;
  if (v instanceof Date) return null;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return null;
}
const safe = (expr, data) => {
  try {
    return { value: evaluate(expr, data) };
  } catch {
    return null;
  }
};

/** The path of the operand that made ``expr`` fail on ``data`` (null: it does not fail),
 *  walking in the order verifier-side evaluation does (rules/certlogic.py ``_walk``). */
export function locate(expr, data, path) {
  if (Array.isArray(expr)) {
    for (let i = 0; i < expr.length; i++) {
      const p = locate(expr[i], data, pointer(path, i));
      if (p !== null) return p;
    }
    return null;
  }
  if (expr === null || typeof expr !== "object") return null;
  const [op, values] = Object.entries(expr)[0];
  if (op === "var") return null;
  const at = pointer(path, op);
  const walk = (i, d = data) => locate(values[i], d, pointer(at, i));
  const value = (i, d = data) => safe(values[i], d)?.value;
  if (op === "if") {
    const p = walk(0);
    if (p !== null) return p;
    const truth = boolsiness(value(0));
    if (truth === null) return pointer(at, 0);
    return walk(truth ? 1 : 2);
  }
  if (op === "and") {
    for (let i = 0; i < values.length; i++) {
      const p = walk(i);
      if (p !== null) return p;
      const truth = boolsiness(value(i));
      if (truth === null) return pointer(at, i);
      if (!truth) return null;
    }
    return null;
  }
  if (op === "!") {
    const p = walk(0);
    if (p !== null) return p;
    return boolsiness(value(0)) === null ? pointer(at, 0) : null;
  }
  if (op === "reduce") {
    let p = walk(0);
    if (p !== null) return p;
    const array = value(0);
    if (array !== null && !Array.isArray(array)) return pointer(at, 0);
    p = walk(2);
    if (p !== null) return p;
    let acc = value(2);
    for (const current of array ?? []) {
      const ctx = { accumulator: acc, current };
      p = walk(1, ctx);
      if (p !== null) return p;
      acc = value(1, ctx);
    }
    return null;
  }
  const count = op === "plusTime" || op === "extractFromUVCI" || op === "dccDateOfBirth" ? 1 : values.length;
  for (let i = 0; i < count; i++) {
    const p = walk(i);
    if (p !== null) return p;
  }
  const vals = values.slice(0, count).map((_, i) => value(i));
  if (["<", ">", "<=", ">=", "+"].includes(op)) {
    const i = vals.findIndex((v) => !isInt(v));
    if (i >= 0) return pointer(at, i);
  } else if (op === "in") {
    if (!Array.isArray(vals[1])) return pointer(at, 1);
  } else if (["before", "after", "not-before", "not-after"].includes(op)) {
    const i = vals.findIndex((v) => !(v instanceof Date));
    if (i >= 0) return pointer(at, i);
  } else if (count === 1) {
    return safe(expr, data) === null ? pointer(at, 0) : null;
  }
  return safe(expr, data) === null ? at : null;
}

// ----------------------------------------------------------------------------- deciding
function policyLabel(policy) {
  if (policy.national) return ["全国默认通行规则", "the national default entry policy"];
  const [zh, en] = placeLabel(policy.place_kind);
  return [
    `${policy.region}通行规则（${zh}，第${policy.version}版）`,
    `the entry policy of ${policy.region} (${en}, version ${policy.version})`,
  ];
}

const decision = (outcome, zh, en, policy = null, missing = []) => ({
  outcome,
  reasons_zh: zh,
  reasons_en: en,
  policy: policy && {
    id: policy.id, region: policy.region, place_kind: policy.place_kind, version: policy.version, description: policy.description,
  },
  missing,
});
export const preDecision = (outcome, [zh, en]) => decision(outcome, [zh], [en]);

function known(f, name) {
  if (name === "colour") return f.colour !== null;
  if (name === "temperature") return f.temperature !== null;
  return f.tests_known;
}

function holderLabel(f, name) {
  if (name === "colour") {
    let [zh, en] = colourLabel(f.colour);
    const labels = f.reasons.map(reasonLabel);
    if (labels.length) {
      zh += "（" + labels.map((l) => l[0]).join("、") + "）";
      en += " (" + labels.map((l) => l[1]).join(", ") + ")";
    }
    return [zh, en];
  }
  if (name === "temperature") {
    const t = fixed1(f.temperature);
    return [`现场体温 ${t} °C`, `temperature at the gate ${t} °C`];
  }
  const hours = f.hours_since_negative;
  if (hours === null) return ["无核酸检测阴性记录", "no negative test on record"];
  return [`最近一次核酸阴性采样于 ${hours} 小时前`, `the last negative test was sampled ${hours} hours ago`];
}

function whyDenied(holds, f) {
  const knownNames = HOLDER_FACTS.filter((n) => known(f, n));
  if (!knownNames.length || !holds(favourable(f, knownNames))) return [[], []];
  const alone = knownNames.filter((n) => !holds(favourable(f, knownNames.filter((k) => k !== n))));
  const chosen = alone.length ? alone : knownNames.filter((n) => holds(favourable(f, [n])));
  const labels = chosen.map((n) => holderLabel(f, n));
  return [labels.map((l) => l[0]), labels.map((l) => l[1])];
}

/** decide(policy_set, facts): PASS, DENY or CHECK, as verifier/policy.py decides. */
// What a pop-up (弹窗) reason says at the gate (verifier/policy.py POPUP_TEXTS, the same words).
export const POPUP_TEXTS = {
  "popup.identity-mismatch": ["公安核验姓名与证件不一致", "the police found the name does not match the document"],
  "popup.no-data": [
    "14 天内到过无数据地区，健康状态无法确定",
    "in a region with no data within 14 days: the status cannot be established",
  ],
};
const POPUP_OTHER = ["健康状态无法确定", "the status cannot be established"];

// CHECK, sending the person to a member of staff, when the colour carries a pop-up reason.
function popup(f) {
  const found = [...new Set([...f.reasons, ...f.online_reasons].filter((r) => r.startsWith("popup.")))];
  if (!found.length) return null;
  const said = found.map((code) => POPUP_TEXTS[code] ?? POPUP_OTHER);
  return decision(
    "CHECK",
    said.map(([zh]) => `弹窗：${zh}，请引导至人工核验`),
    said.map(([, en]) => `pop-up: ${en}; send the person to a member of staff`),
  );
}

export function decide(policies, f) {
  const held = popup(f);
  if (held !== null) return held;
  if (policies === null) {
    const [zh, en] = noPolicy(f.region);
    return decision("CHECK", [zh], [en]);
  }
  const policy = policies.select(f.region, f.place_kind, f.now) ?? NATIONAL_DEFAULT;
  const [whereZh, whereEn] = policyLabel(policy);
  const passes = (assume) => {
    try {
      return run(policy.rule, factsData(f, assume)) === true;
    } catch {
      return false;
    }
  };
  let failure = null;
  let value = null;
  try {
    value = run(policy.rule, factsData(f));
  } catch (exc) {
    failure = exc;
  }
  if (value === true) {
    return decision("PASS", [`符合${whereZh}：${policy.description}`], [`meets ${whereEn}: ${policy.description}`], policy);
  }
  const unknown = unknownFacts(f);
  if (unknown.length && passes(unknown)) {
    const needed = unknown.filter((u) => passes([u]));
    const use = needed.length ? needed : unknown;
    const zh = use.map((u) => UNKNOWN_FACTS[u][0]).join("、");
    const en = use.map((u) => UNKNOWN_FACTS[u][1]).join(", ");
    return decision(
      "CHECK",
      [`需人工核验：缺少${zh}`, `${whereZh}：${policy.description}`],
      [`check by hand: ${en} not known here`, `${whereEn}: ${policy.description}`],
      policy,
      use,
    );
  }
  if (failure !== null) {
    const at = failure.path || "/";
    return decision(
      "CHECK",
      [`${whereZh}无法判定（${at}）：${policy.description}`],
      [`${whereEn} could not be evaluated at ${at}: ${policy.description}`],
      policy,
    );
  }
  const holds = (candidate) => {
    try {
      return run(policy.rule, factsData(candidate, unknownFacts(candidate))) === true;
    } catch {
      return false;
    }
  };
  const [zhR, enR] = whyDenied(holds, f);
  return decision(
    "DENY",
    [...zhR, `不符合${whereZh}：${policy.description}`],
    [...enR, `does not meet ${whereEn}: ${policy.description}`],
    policy,
  );
}
