// The checkpoint's verifier in the browser: what verifier/verifier.py does with one scan, on
// this node's own API only. A YMT1 code is checked offline against the cached trust list
// (signature, key validity, revocation, expiry); the node is asked for the current status
// (the hub's Mode 2, directly on the hub, through the issuer's relay on an issuer) with a
// short timeout; the decision is made under the cached, signed entry policy of the region
// where the gate stands; the scan goes into the IndexedDB queue before the answer is shown.
import { ExpiredCode, InvalidCode, PREFIX, UnknownKey, importKey, verifyCodeAt } from "./code.mjs";
import { DEFAULT_MAX_DRIFT, anchor, betterFloor, checkClock, timeSource } from "./clock.mjs";
import { BadDocument, buildPolicies, buildRisk, buildTrust, verifyDocument } from "./lists.mjs";
import { PY_SPACE, buildInternational, certificateFacts, chunkOf, holderDisplay, isInternational, isShc, verifyDcc, verifyShc } from "./international.mjs";
import { decide, factsFromAnswer, factsFromClaims, iso, parseTime, preDecision } from "./policy.mjs";
import * as T from "./texts.mjs";

const TYPED_ID = /^ID:([0-9]{3}):(\S{1,40})$/;
const RESIDENT_ID = /^[0-9]{17}[0-9Xx]$/;
const PREFIXED = /^[A-Z][A-Z0-9]{1,9}:/;
const MAX_CHAIN = 50;
const BATCH = 200;
const INTERNATIONAL = "international-trust";
const CHUNK_WAIT = 120; // seconds the chunks of one card are kept waiting for the others

class NodeError extends Error {
  constructor(kind, status, detail) {
    super(detail || kind);
    this.kind = kind; // invalid-code | invalid-input | not-found | refused | unavailable
    this.status = status;
  }
}

export class Verifier {
  constructor(config, { store, source = timeSource, fetcher = (...a) => fetch(...a) } = {}) {
    this.config = {
      onlineTimeout: 1500,
      listTimeout: 5000,
      maxListAge: 3 * 86400,
      maxDrift: DEFAULT_MAX_DRIFT,
      retryAfter: 5,
      placeKind: "any",
      ...config,
    };
    this.store = store;
    this.time = source;
    this.fetcher = fetcher;
    this.trust = null;
    this.risk = null;
    this.policy = null;
    this.international = null;
    this.chunks = null; // the chunks of a SMART Health Card read so far (gather)
    this.stored = {};
    this.pins = new Map();
    this.floor = null;
    this.estimate = null;
    this.downUntil = -Infinity;
    this.link = null; // what went wrong with the node's last call, if anything
    this.notes = [];
  }

  // ------------------------------------------------------------------ lists on the device
  policyName() {
    return this.config.region ? `policies-${this.config.region}` : null;
  }

  async load() {
    for (const k of this.config.hubKeys || []) this.pins.set(k.kid, { ...(await importKey(k)), public_key: k.public_key });
    for (const k of (await this.store.get("pins")) || []) {
      if (!this.pins.has(k.kid)) this.pins.set(k.kid, { ...(await importKey(k)), public_key: k.public_key });
    }
    const clock = await this.store.get("clock");
    if (clock) this.estimate = clock;
    await this.loadList("trust-list", (docs) => buildTrust(docs, this.pins), (s) => (this.trust = s));
    if (!this.trust) return;
    await this.loadList("risk-areas", (docs) => buildRisk(docs, this.trust.hubKeys), (s) => (this.risk = s));
    await this.loadList(INTERNATIONAL, (docs) => buildInternational(docs, this.trust.hubKeys), (s) => (this.international = s));
    const name = this.policyName();
    if (name) {
      await this.loadList(name, (docs) => buildPolicies(docs, this.trust.hubKeys, this.config.region), (s) => (this.policy = s));
    }
  }

  async loadList(name, build, set) {
    const stored = await this.store.get(name);
    if (!stored) return;
    try {
      set(await build(stored.documents));
      this.stored[name] = stored;
      this.floor = betterFloor(this.floor, stored.anchor, this.time.boot());
    } catch (exc) {
      this.notes.push(`list ${name} on this device did not verify (${exc.message}); fetched again`);
      await this.store.delete(name);
    }
  }

  listAge(name) {
    const s = this.stored[name];
    return s && s.checked_at != null ? this.time.wall() - s.checked_at : null;
  }

  /** The age (s) of the oldest list an offline decision rests on; null when none is kept. */
  oldestListAge() {
    const names = ["trust-list", "risk-areas"];
    if (this.policy && this.policyName()) names.push(this.policyName());
    const ages = names.map((n) => this.listAge(n)).filter((a) => a !== null);
    return ages.length ? Math.max(...ages) : null;
  }

  clockVerdict() {
    return checkClock({ floor: this.floor, estimate: this.estimate, source: this.time, maxDrift: this.config.maxDrift });
  }

  // ------------------------------------------------------------------ talking to the node
  get onlinePossible() {
    return navigator.onLine !== false && this.time.elapsed() >= this.downUntil;
  }

  async call(method, path, { body, headers = {}, timeout = this.config.onlineTimeout } = {}) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeout);
    let response;
    try {
      response = await this.fetcher(path, {
        method,
        credentials: "same-origin",
        cache: "no-store",
        signal: abort.signal,
        headers: {
          Accept: "application/json",
          ...(body !== undefined ? { "Content-Type": "application/json", "X-CSRF-Token": this.config.csrf } : {}),
          ...headers,
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (exc) {
      throw this.down(new NodeError("unavailable", 0, `the node did not answer (${exc.name})`));
    } finally {
      clearTimeout(timer);
    }
    const date = response.headers.get("date");
    if (date) this.sawNode(Date.parse(date) / 1000);
    if (response.status === 304) return { status: 304, headers: response.headers, json: null };
    let json = null;
    try {
      json = await response.json();
    } catch {
      json = null;
    }
    if (response.ok) {
      this.link = null;
      return { status: response.status, headers: response.headers, json };
    }
    const slug = String(json?.type || "").split("/").pop();
    if (response.status >= 500 || slug === "too-many-requests" || slug === "unavailable") {
      throw this.down(new NodeError("unavailable", response.status, json?.detail));
    }
    if (response.status === 401 || response.status === 403) {
      this.link = { zh: T.CREDENTIAL_REFUSED[0], en: `${T.CREDENTIAL_REFUSED[1]}: ${json?.detail ?? response.status}` };
      throw new NodeError("refused", response.status, json?.detail);
    }
    if (slug === "invalid-code") throw new NodeError("invalid-code", response.status, json?.detail);
    if (slug === "not-found") throw new NodeError("not-found", response.status, json?.detail);
    throw new NodeError("invalid-input", response.status, json?.detail);
  }

  down(error) {
    this.downUntil = this.time.elapsed() + this.config.retryAfter;
    this.link = { zh: T.HUB_UNREACHABLE[0], en: `${T.HUB_UNREACHABLE[1]}: ${error.message}` };
    return error;
  }

  sawNode(seconds) {
    if (Number.isNaN(seconds)) return;
    this.estimate = anchor(seconds, this.time, false);
    if (!this.savedEstimate || this.estimate.elapsed - this.savedEstimate > 60) {
      this.savedEstimate = this.estimate.elapsed;
      this.store.put("clock", this.estimate).catch(() => {});
    }
  }

  // ------------------------------------------------------------------ refreshing
  async refresh({ force = false } = {}) {
    const report = {};
    report["trust-list"] = await this.refreshOne("trust-list", force);
    if (this.trust && !report["trust-list"].startsWith("error")) {
      for (const name of ["risk-areas", this.policyName()].filter(Boolean)) {
        report[name] = await this.refreshOne(name, force);
      }
      if (this.config.api.international) report[INTERNATIONAL] = await this.refreshOne(INTERNATIONAL, force);
    }
    if (Object.values(report).every((v) => !v.startsWith("error"))) this.downUntil = -Infinity;
    return report;
  }

  async refreshOne(name, force) {
    try {
      return await this.fetchList(name, force);
    } catch (exc) {
      // A hub without international trust: nothing wrong with the link.
      if (name === INTERNATIONAL && exc.kind === "not-found") return "absent";
      return `error: ${exc.message}`;
    }
  }

  async fetchList(name, force) {
    const api = this.config.api;
    const stored = this.stored[name];
    let path;
    let current = 0;
    let full = force || !stored;
    if (name === "trust-list") {
      path = api.trust;
      current = this.trust?.version ?? 0;
      full = full || Boolean(this.trust?.hubKeyRevoked);
    } else if (name === "risk-areas") {
      path = api.risk;
      current = this.risk?.version ?? 0;
    } else if (name === INTERNATIONAL) {
      path = api.international; // one document, never a delta
    } else {
      path = `${api.policies}/${this.config.region}`;
    }
    if (stored && stored.documents.length >= MAX_CHAIN) full = true;
    const since = full ? 0 : current;
    const single = name === this.policyName() || name === INTERNATIONAL;
    const url = single ? path : `${path}?since=${since}`;
    const headers = !full && stored?.etag ? { "If-None-Match": stored.etag } : {};
    const answer = await this.call("GET", url, { headers, timeout: this.config.listTimeout });
    const now = this.time.wall();
    if (answer.status === 304 && stored) {
      stored.checked_at = now;
      await this.store.put(name, stored);
      return "unchanged";
    }
    const document = answer.json;
    let payload;
    if (name === "trust-list") {
      if (!this.pins.size) await this.pinFirstUse(document);
      payload = await verifyDocument(document, new Map([...this.pins, ...(this.trust?.hubKeys ?? [])]));
    } else {
      payload = await verifyDocument(document, this.trust.hubKeys);
    }
    const version = Number(payload.version || 0);
    const signedAnchor = parseTime(payload.issued_at) !== null ? anchor(parseTime(payload.issued_at), this.time, true) : null;
    if (since && version === current && Number(payload.since || 0) === current) {
      Object.assign(stored, { etag: answer.headers.get("etag"), checked_at: now, anchor: signedAnchor });
      await this.store.put(name, stored);
      this.floor = betterFloor(this.floor, signedAnchor, this.time.boot());
      return "unchanged";
    }
    const documents = since && stored ? [...stored.documents, document] : [document];
    try {
      await this.apply(name, documents);
    } catch (exc) {
      if (!since || !(exc instanceof BadDocument)) throw exc;
      return this.fetchList(name, true); // a broken chain: start again from a full list
    }
    const fresh = { documents, etag: answer.headers.get("etag"), fetched_at: now, checked_at: now, anchor: signedAnchor };
    await this.store.put(name, fresh);
    this.stored[name] = fresh;
    this.floor = betterFloor(this.floor, signedAnchor, this.time.boot());
    return "updated";
  }

  async apply(name, documents) {
    if (name === "trust-list") {
      this.trust = await buildTrust(documents, new Map([...this.pins, ...(this.trust?.hubKeys ?? [])]));
      for (const [kid, key] of this.trust.hubKeys) this.pins.set(kid, key);
      await this.store.put("pins", [...this.pins].map(([kid, k]) => ({ kid, alg: k.alg, public_key: k.public_key })));
    } else if (name === "risk-areas") {
      this.risk = await buildRisk(documents, this.trust.hubKeys);
    } else if (name === INTERNATIONAL) {
      this.international = await buildInternational(documents, this.trust.hubKeys);
    } else {
      this.policy = await buildPolicies(documents, this.trust.hubKeys, this.config.region);
    }
  }

  async pinFirstUse(document) {
    const kid = document?.signature?.kid;
    const entry = (document?.payload?.keys || []).find((k) => k.kid === kid && k.region === "000000");
    if (!entry) throw new BadDocument("the trust list is not signed by a hub key it lists");
    const key = { ...(await importKey(entry)), public_key: entry.public_key };
    await verifyDocument(document, new Map([[kid, key]]));
    this.pins.set(kid, key);
    this.notes.push(`no hub key pinned: trusting hub key ${kid} on first use`);
  }

  // ------------------------------------------------------------------ deciding
  areaLevel(now) {
    const area = this.config.area || this.config.region;
    return this.risk && area ? this.risk.level(area, now) : null;
  }

  decideFacts(facts) {
    return this.config.region ? decide(this.policy ? this.policy.policies : null, facts) : null;
  }

  requestBody(temperature) {
    const body = { at_region: this.config.region, place_kind: this.config.placeKind };
    if (temperature !== null) body.temperature = temperature;
    return body;
  }

  /** One scan: the decision, where it came from, what to show, and its scan id. */
  async verify(text, { temperature = null } = {}) {
    const started = performance.now();
    text = text.trim();
    const now = this.time.wall();
    let result;
    if (text.startsWith(PREFIX)) result = await this.ymt1(text, now, temperature);
    else if (isInternational(text)) {
      result = await this.certificate(text, now, temperature);
      if (result === null) {
        // Not a scan yet: no decision, no record.
        return { at: now, mode: "offline", decision: null, pending: true, kind: "shc", notes: this.chunkNote(), ms: performance.now() - started };
      }
    }
    else {
      const typed = TYPED_ID.exec(text);
      if (typed) result = await this.lookup(typed[1], typed[2], now, temperature);
      else if (RESIDENT_ID.test(text)) result = await this.lookup("111", text, now, temperature);
      else result = await this.other(text, now, temperature);
    }
    result = await this.record(result);
    result.ms = performance.now() - started;
    return result;
  }

  offlineNote() {
    if (navigator.onLine === false) return "offline: this device has no network";
    if (this.link) return `${this.link.en}; decided without it`;
    return "offline: the node did not answer a moment ago";
  }

  pre(outcome, reason, now, mode, temperature, notes) {
    const decision = preDecision(outcome, reason);
    if (mode === "offline" && this.link) {
      decision.reasons_zh.unshift(this.link.zh);
      decision.reasons_en.unshift(this.link.en);
    }
    return { at: now, mode, decision, temperature, notes };
  }

  invalid(now, mode, temperature, notes, reason = T.INVALID) {
    return { at: now, mode, decision: preDecision("DENY", reason), valid: false, temperature, notes };
  }

  async ymt1(code, now, temperature) {
    const notes = [];
    const verdict = this.clockVerdict();
    let claims = null;
    let refused = null;
    if (this.trust && verdict.ok) {
      try {
        claims = await verifyCodeAt(code, this.trust.keyring, now);
      } catch (exc) {
        if (!(exc instanceof InvalidCode)) throw exc;
        refused = exc;
      }
    }
    if (refused && !(refused instanceof UnknownKey)) {
      const reason = refused instanceof ExpiredCode ? T.EXPIRED : T.INVALID;
      return this.invalid(now, "offline", temperature, [`refused: ${refused.detail}`], reason);
    }
    if (this.onlinePossible) {
      try {
        const answer = await this.call("POST", this.config.api.verify, { body: { code, ...this.requestBody(temperature) } });
        if (!answer.json || answer.json.valid !== true) throw new NodeError("unavailable", answer.status, "not a verification");
        return this.fromAnswer(answer.json, now, temperature, notes, claims);
      } catch (exc) {
        if (exc.kind === "invalid-code") return this.invalid(now, "online", temperature, []);
        notes.push(`online status unavailable (${exc.message})`);
      }
    } else {
      notes.push(this.offlineNote());
    }
    if (!this.trust) return this.pre("CHECK", T.NO_TRUST, now, "offline", temperature, notes);
    if (!verdict.ok) return this.pre("CHECK", verdict.reason, now, "offline", temperature, notes);
    const age = this.oldestListAge();
    if (age !== null && age > this.config.maxListAge) {
      notes.push(`lists last confirmed ${Math.round(age)} s ago`);
      return this.pre("CHECK", T.LISTS_TOO_OLD, now, "offline", temperature, notes);
    }
    if (claims === null) return this.pre("CHECK", T.UNKNOWN_KEY, now, "offline", temperature, notes);
    const issuerKind = this.trust.issuers.get(claims.issuer)?.kind ?? null;
    const facts = factsFromClaims(claims, {
      now,
      region: this.config.region || claims.issuer,
      placeKind: this.config.placeKind,
      temperature,
      areaLevel: this.areaLevel(now),
      issuerKind,
    });
    return {
      at: now,
      mode: "offline",
      decision: this.decideFacts(facts),
      valid: true,
      colour: facts.colour,
      issuer: claims.issuer,
      kind: claims.kind,
      status: "claims",
      display: display(claims.masked_name, claims.masked_id, facts.colour),
      temperature,
      notes,
      sid: claims.sid,
    };
  }

  /** An EU DCC or a SMART Health Card (Verifier._international): verified offline only,
   *  against the hub's signed international trust; the entry policy decides on its facts. */
  async certificate(scanned, now, temperature) {
    const dcc = !isShc(scanned);
    const text = dcc ? scanned : this.gather(scanned);
    if (text === null) return null;
    const notes = ["international certificates are verified offline"];
    const state = this.international;
    if (state === null) return this.pre("CHECK", T.NO_INTERNATIONAL, now, "offline", temperature, notes);
    const verdict = this.clockVerdict();
    if (!verdict.ok) return this.pre("CHECK", verdict.reason, now, "offline", temperature, notes);
    const age = this.listAge(INTERNATIONAL);
    if (age !== null && age > this.config.maxListAge) {
      notes.push(`international trust last confirmed ${Math.round(age)} s ago`);
      return this.pre("CHECK", T.LISTS_TOO_OLD, now, "offline", temperature, notes);
    }
    const result = dcc ? await verifyDcc(text, state, now) : await verifyShc(text, state, now);
    const kind = dcc ? "dcc" : "shc";
    if (result.reason === "unknown kid" || result.reason === "unknown issuer") {
      // As for a YMT1 code: a signer this device's list lacks may be newer than the list.
      notes.push(`refused: ${result.reason}`);
      return this.pre("CHECK", T.UNKNOWN_KEY, now, "offline", temperature, notes);
    }
    if (!result.valid) {
      const expired = result.reason === "expired" || result.reason === "dsc expired";
      return { ...this.invalid(now, "offline", temperature, [`refused: ${result.reason}`], expired ? T.EXPIRED : T.INVALID), kind, reason: result.reason };
    }
    const cert = result.facts;
    const facts = certificateFacts(cert, {
      now, region: this.config.region || "000000", placeKind: this.config.placeKind, temperature, areaLevel: this.areaLevel(now),
    });
    return {
      at: now,
      mode: "offline",
      decision: this.decideFacts(facts),
      valid: true,
      issuer: cert.issuer_country || cert.issuer,
      kind,
      status: "claims",
      display: holderDisplay(cert),
      temperature,
      notes,
      sid: null,
    };
  }

  /** A chunk ``shc:/i/n/...`` scanned on its own is kept until every chunk of its card is
   *  read (null until then), then the card's chunks joined; any other text as it is. A chunk
   *  of another card, one read twice, or one after CHUNK_WAIT starts a new card. */
  gather(text) {
    const chunk = PY_SPACE.test(text) ? null : chunkOf(text);
    if (chunk === null || chunk[1] === 1) {
      this.chunks = null;
      return text;
    }
    const [index, count] = chunk;
    const kept = this.chunks;
    const elapsed = this.time.elapsed();
    if (!kept || kept.count !== count || kept.parts.has(index) || elapsed - kept.since > CHUNK_WAIT) {
      this.chunks = { count, parts: new Map(), since: elapsed };
    }
    this.chunks.parts.set(index, text);
    if (this.chunks.parts.size < count) return null;
    const parts = this.chunks.parts;
    this.chunks = null;
    return [...parts.keys()].sort((a, b) => a - b).map((i) => parts.get(i)).join(" ");
  }

  chunkNote() {
    const { count, parts } = this.chunks;
    return [`part ${[...parts.keys()].sort((a, b) => a - b).join(", ")} of ${count} of a SMART Health Card read; scan the others`];
  }

  fromAnswer(answer, now, temperature, notes, claims = null) {
    const signed = claims ? { colour: claims.colour, issued_at: claims.issued_at } : null;
    const facts = factsFromAnswer(answer, {
      now,
      region: this.config.region || String(answer.issuer || "000000"),
      placeKind: this.config.placeKind,
      temperature,
      areaLevel: this.areaLevel(now),
      signed,
    });
    let decision = this.decideFacts(facts);
    if (!this.policy && decision && answer.decision && typeof answer.decision === "object") {
      decision = answer.decision; // no signed policies of this region here yet: the hub's
      notes.push(`decided by the hub: no entry policy of ${this.config.region} on this device yet`);
    }
    const shown = answer.display && typeof answer.display === "object" ? answer.display : {};
    return {
      at: now,
      mode: "online",
      decision,
      valid: true,
      colour: facts.colour,
      issuer: facts.issuer,
      kind: facts.kind,
      status: facts.source,
      display: display(String(shown.masked_name ?? ""), String(shown.masked_id ?? ""), facts.colour),
      temperature,
      notes,
      sid: typeof answer.sid === "string" ? answer.sid : null,
    };
  }

  async lookup(idType, number, now, temperature) {
    const notes = [];
    if (!this.onlinePossible) {
      notes.push("a look-up needs the network", this.offlineNote());
      return this.pre("CHECK", T.ID_OFFLINE, now, "offline", temperature, notes);
    }
    const body = { id_type: idType, id_number: number, ...this.requestBody(temperature) };
    if (this.config.gate) body.checkpoint = this.config.gate.slice(0, 60);
    try {
      const answer = await this.call("POST", this.config.api.lookup, { body });
      return this.fromAnswer(answer.json, now, temperature, notes);
    } catch (exc) {
      if (exc.kind === "invalid-input") return this.pre("CHECK", T.BAD_ID, now, "online", temperature, notes);
      if (exc.kind === "not-found") return this.pre("CHECK", T.NO_RECORD, now, "online", temperature, notes);
      notes.push(`look-up unavailable (${exc.message})`);
      return this.pre("CHECK", T.ID_UNAVAILABLE, now, "offline", temperature, notes);
    }
  }

  async other(text, now, temperature) {
    const notes = [];
    const legacy = Boolean(this.trust?.legacy.some(([prefix]) => text.startsWith(prefix)));
    if (this.onlinePossible) {
      try {
        const answer = await this.call("POST", this.config.api.verify, { body: { code: text, ...this.requestBody(temperature) } });
        return this.fromAnswer(answer.json, now, temperature, notes);
      } catch (exc) {
        if (exc.kind === "invalid-code") return this.invalid(now, "online", temperature, []);
        if (exc.kind === "invalid-input") return this.pre("DENY", T.UNRECOGNISED, now, "online", temperature, notes);
        notes.push(`online status unavailable (${exc.message})`);
        if (legacy && exc.kind === "unavailable" && exc.status) {
          return this.pre("CHECK", T.LEGACY_UNAVAILABLE, now, "online", temperature, notes);
        }
      }
    }
    if (legacy) return this.pre("CHECK", T.LEGACY_OFFLINE, now, "offline", temperature, notes);
    if (PREFIXED.test(text)) return this.pre("CHECK", T.UNKNOWN_FORMAT_OFFLINE, now, "offline", temperature, notes);
    return this.pre("DENY", T.UNRECOGNISED, now, "offline", temperature, notes);
  }

  // ------------------------------------------------------------------ scan records
  async record(result) {
    const area = this.config.area || this.config.region;
    if (!result.decision || !this.config.checkpoint || !area) return result;
    const scan = {
      id: crypto.randomUUID(),
      seq: Date.now() * 1000 + (this.seq = ((this.seq ?? 0) + 1) % 1000),
      sid: result.sid ?? null,
      at: iso(result.at),
      area,
      decision: result.decision.outcome,
      checkpoint: this.config.checkpoint.slice(0, 100),
      state: result.sid ? "pending" : "local",
    };
    if (result.temperature !== null && result.temperature !== undefined) scan.temperature = result.temperature;
    await this.store.addScan(scan);
    return { ...result, scan_id: scan.id };
  }

  /** Send the queued scans to the node (the hub dedupes by id: exactly once there). */
  async upload() {
    let sent = 0;
    let duplicates = 0;
    for (;;) {
      const scans = await this.store.pending(BATCH);
      if (!scans.length) break;
      const wire = scans.map(({ id, sid, at, area, decision, checkpoint, temperature }) =>
        temperature === undefined ? { id, sid, at, area, decision, checkpoint } : { id, sid, at, area, decision, checkpoint, temperature },
      );
      try {
        const answer = await this.call("POST", this.config.api.scans, { body: { scans: wire }, timeout: this.config.listTimeout });
        await this.store.ack(scans.map((s) => s.id));
        duplicates += Number(answer.json?.duplicates || 0);
        sent += scans.length - Number(answer.json?.duplicates || 0);
      } catch (exc) {
        if (exc.kind !== "invalid-input") return { sent, duplicates, error: exc.message };
        for (const one of wire) {
          try {
            await this.call("POST", this.config.api.scans, { body: { scans: [one] } });
            await this.store.ack([one.id]);
            sent += 1;
          } catch (inner) {
            if (inner.kind !== "invalid-input") return { sent, duplicates, error: inner.message };
            await this.store.reject(one.id, inner.message);
          }
        }
      }
    }
    return { sent, duplicates, error: null };
  }
}

function display(maskedName, maskedId, colour) {
  const [zh, en] = T.colourLabel(colour);
  return { masked_name: maskedName, masked_id: maskedId, colour_zh: zh, colour_en: en };
}
