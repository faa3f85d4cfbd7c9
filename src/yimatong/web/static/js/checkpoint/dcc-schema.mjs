// The shape of a DCC's hcert payload (EU DCC JSON schema 1.3.x) and its value sets in the
// browser: a line-by-line port of verifier/dcc_schema.py, the same checks in the same order and
// the same reasons ("schema: v[0].dn missing", "value set: t[0].tt 'X' is unknown").
//
// The value sets are the ones the Python core reads (verifier/data/dcc-valuesets), shipped with
// the page's code as dcc-valuesets.json (scripts/gen_page_valuesets.py writes it;
// tests/unit/test_dcc_schema.py holds it equal): like the code that reads them they change
// with a release, not with the hub's trust, and the service worker keeps them with the rest.
import SHIPPED from "./dcc-valuesets.json" with { type: "json" };

// Python's "." (anything but a newline) and \d with re.ASCII; the "u" flag walks code points.
const VER = /^[0-9]+[^\n][0-9]+[^\n][0-9]+$/u;
const DOB = /^(?:(?:19|20)[0-9][0-9](?:-[0-9][0-9]){0,2})?$/u;
const ICAO = /^[A-Z<]*$/u;
const DATE = /^[0-9]{4}-[0-9][0-9]-[0-9][0-9]$/u;
const DATE_THEN_TIME = /^[0-9]{4}-[0-9][0-9]-[0-9][0-9][Tt ][0-9][0-9]:[0-9][0-9](?::[0-9][0-9](?:\.[0-9]+)?)?(?:[Zz]|[+-][0-9][0-9]:?[0-9][0-9])?$/u;
const DATE_TIME = /^([0-9]{4}-[0-9][0-9]-[0-9][0-9])[Tt ]([0-9][0-9]):([0-9][0-9]):([0-9][0-9])(?:\.[0-9]+)?(?:[Zz]|([+-])([0-9][0-9]):([0-9][0-9]))$/u;
const TEXT_MAX = 80;

const VACCINATION = [
  ["tg", "code", "disease-agent-targeted"],
  ["vp", "code", null],
  ["mp", "code", null],
  ["ma", "code", null],
  ["dn", "dose", null],
  ["sd", "dose", null],
  ["dt", "date", null],
  ["co", "code", null],
  ["is", "text", null],
  ["ci", "text", null],
];
const TEST = [
  ["tg", "code", "disease-agent-targeted"],
  ["tt", "code", "test-type"],
  ["sc", "date-time", null],
  ["tr", "code", "test-result"],
  ["co", "code", null],
  ["is", "text", null],
  ["ci", "text", null],
];
const TEST_OPTIONAL = [["nm", "text"], ["ma", "text"], ["tc", "text"]];
const RECOVERY = [
  ["tg", "code", "disease-agent-targeted"],
  ["fr", "date", null],
  ["co", "code", null],
  ["is", "text", null],
  ["df", "date", null],
  ["du", "date", null],
  ["ci", "text", null],
];
const ENTRIES = { v: VACCINATION, t: TEST, r: RECOVERY };

/** value_set(name): code -> its English display name, by the schema's name of the set. */
const SETS = new Map(Object.entries(SHIPPED.sets).map(([name, s]) => [name, new Map(s.codes)]));

/** eu_value_sets(): external.valueSets of the EU's business rules, valueSetId -> its codes. */
export const EU_VALUE_SETS = Object.freeze(
  Object.fromEntries(Object.values(SHIPPED.sets).map((s) => [s.id, Object.freeze(s.codes.map(([code]) => code))])),
);

/** display(name, code): the display name of ``code`` in value set ``name``, or null. */
export function display(name, code) {
  return typeof code === "string" ? (SETS.get(name).get(code) ?? null) : null;
}

/** A CBOR float with a whole value (2.0): a float to Python, which JavaScript numbers cannot
 *  tell from 2 (international.mjs marks them while decoding the claims). */
export class WholeFloat {
  constructor(value) {
    this.value = value;
  }
}

/** CBOR's ``undefined``: a value to Python (cbor2's ``undefined``, not None), where a
 *  JavaScript ``undefined`` would read as absent. */
export const UNDEFINED = Object.freeze({ cborUndefined: true });

/** ``value`` with every WholeFloat as its number (and UNDEFINED as null), for the data a
 *  policy reads. */
export function unmarked(value) {
  if (value instanceof WholeFloat) return value.value;
  if (value === UNDEFINED) return null;
  if (Array.isArray(value)) return value.map(unmarked);
  if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unmarked(v)]));
  return value;
}

const isDict = (v) =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof WholeFloat) && v !== UNDEFINED;
const isText = (v) => typeof v === "string";
const absent = (v) => v === null || v === undefined;
const length = (s) => [...s].length;
const isInteger = (v) => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";

// Python's str.isprintable() is false for the Unicode categories "Other" and "Separator".
const UNPRINTABLE = /^[\p{C}\p{Z}]$/u;
const hexOf = (n, width) => n.toString(16).padStart(width, "0");

/** Python's repr() of a str. */
export function pyRepr(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const o = ch.codePointAt(0);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (o < 0x20 || o === 0x7f) out += "\\x" + hexOf(o, 2);
    else if (o < 0x7f) out += ch;
    else if (ch !== " " && UNPRINTABLE.test(ch)) {
      out += o < 0x100 ? "\\x" + hexOf(o, 2) : o < 0x10000 ? "\\u" + hexOf(o, 4) : "\\U" + hexOf(o, 8);
    } else out += ch;
  }
  return out + quote;
}

/** date.fromisoformat of YYYY-MM-DD text that matched DATE: a day of years 1-9999. */
function isDay(text) {
  const [y, m, d] = text.split("-").map(Number);
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= days[m - 1];
}

/** ``value`` as YYYY-MM-DD if it is a complete date (or one followed by a time), else null. */
function day(value) {
  const d = [...value].slice(0, 10).join("");
  if (length(value) > 10 && !DATE_THEN_TIME.test(value)) return null;
  if (!DATE.test(d) || !isDay(d)) return null;
  return d;
}

function isDateTime(value) {
  const m = DATE_TIME.exec(value);
  if (m === null) return false;
  const [, d, h, mi, s, , oh, om] = m;
  if (!isDay(d) || +h > 23 || +mi > 59 || +s > 59) return false;
  if (oh !== undefined && (+oh > 23 || +om > 59)) return false;
  return true;
}

function field(entry, where, name, kind, vs) {
  const value = entry[name];
  const at = `${where}.${name}`;
  if (absent(value)) return `schema: ${at} missing`;
  if (kind === "dose") {
    if (!isInteger(value) || value < 1) return `schema: ${at} is not a positive integer`;
    return null;
  }
  if (!isText(value)) return `schema: ${at} is not text`;
  if (kind === "date") {
    const d = day(value);
    if (d === null) return `schema: ${at} is not a complete date`;
    entry[name] = d;
    return null;
  }
  if (kind === "date-time") return isDateTime(value) ? null : `schema: ${at} is not a date and time`;
  if (kind === "text" && length(value) > TEXT_MAX) return `schema: ${at} is longer than ${TEXT_MAX}`;
  if (vs !== null && !SETS.get(vs).has(value)) return `value set: ${at} ${pyRepr([...value].slice(0, 20).join(""))} is unknown`;
  return null;
}

function checkName(nam) {
  if (!isDict(nam)) return absent(nam) ? "schema: nam missing" : "schema: nam is not an object";
  if (absent(nam.fnt) && absent(nam.gnt)) return "schema: nam.fnt missing";
  for (const key of ["fn", "gn", "fnt", "gnt"]) {
    const value = nam[key];
    if (absent(value)) continue;
    if (!isText(value)) return `schema: nam.${key} is not text`;
    if (length(value) > TEXT_MAX) return `schema: nam.${key} is longer than ${TEXT_MAX}`;
    if ((key === "fnt" || key === "gnt") && !ICAO.test(value)) return `schema: nam.${key} is not ICAO 9303 (A-Z and <)`;
  }
  return null;
}

/** hcert_kind: "v", "t" or "r" for a DCC whose top level keeps to the schema, else the reason. */
export function hcertKind(dcc) {
  if (!isDict(dcc)) return "schema: hcert is not an object";
  const ver = dcc.ver;
  if (!isText(ver) || !VER.test(ver)) return absent(ver) ? "schema: ver missing" : "schema: ver is not a version";
  const reason = checkName(dcc.nam);
  if (reason !== null) return reason;
  const dob = dcc.dob;
  if (!isText(dob)) return absent(dob) ? "schema: dob missing" : "schema: dob is not text";
  if (!DOB.test(dob) && !(day(dob) && DOB.test([...dob].slice(0, 10).join("")))) return "schema: dob is not a date of 1900-2099";
  const present = ["v", "t", "r"].filter((k) => Object.hasOwn(dcc, k) && !absent(dcc[k]));
  if (present.length !== 1) return "schema: not exactly one of v, t, r";
  const kind = present[0];
  const entries = dcc[kind];
  if (!Array.isArray(entries) || entries.length !== 1) return `schema: ${kind} is not a list of one entry`;
  if (!isDict(entries[0])) return `schema: ${kind}[0] is not an object`;
  return kind;
}

/** hcert_entry: the entry of a DCC hcertKind accepted, checked field by field (dates as
 *  YYYY-MM-DD), else the reason (a string). */
export function hcertEntry(dcc, kind) {
  const entry = { ...dcc[kind][0] };
  const where = `${kind}[0]`;
  for (const [name, fieldKind, vs] of ENTRIES[kind]) {
    const reason = field(entry, where, name, fieldKind, vs);
    if (reason !== null) return reason;
  }
  if (kind === "t") {
    for (const [name, fieldKind] of TEST_OPTIONAL) {
      if (!absent(entry[name])) {
        const reason = field(entry, where, name, fieldKind, null);
        if (reason !== null) return reason;
      }
    }
  }
  return entry;
}
