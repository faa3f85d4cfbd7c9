"""The node's tables, as SQLAlchemy Core.

Core rather than ORM: the hot paths (verify, status lookup, bulk ingest) run plain
statements against these tables, and the use cases read and write rows, not object graphs.

Conventions:
- every table about a person leads with ``sid`` (the pseudonym), so it can be distributed
  by that key on a sharded PostgreSQL when one machine is not enough (DESIGN §7);
- names, ID numbers, phones and addresses exist only in ``enc_*`` columns (AES-GCM blobs,
  key id inside, ``sid`` as associated data); phones are found by a keyed hash;
- times are stored as UTC, timezone-aware;
- every personal record has ``expires_at``; the purge job deletes what has expired.

Alembic migrations under ``migrations/`` must match this metadata; a test fails on drift.
On PostgreSQL, migration 0009 partitions ``stays``, ``test_results`` and ``audit_log`` by time
and widens the keys of the tables about a person to hold ``sid``; ``partitions.py`` describes
that shape (``postgres_metadata``), and SQLite keeps this one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect

__all__ = [
    "accounts",
    "assessments",
    "audit_log",
    "case_facts",
    "colour_changes",
    "contact_facts",
    "corrections",
    "counters",
    "credentials",
    "declarations",
    "department_batches",
    "department_records",
    "departments",
    "feed_batches",
    "feed_quarantine",
    "hub_feed",
    "identity_checks",
    "international_trust",
    "issuer_keys",
    "issuers",
    "labs",
    "link_requests",
    "links",
    "log_entries",
    "metadata",
    "otps",
    "override_subjects",
    "overrides",
    "policies",
    "quarantine_orders",
    "rate_counts",
    "registry_changes",
    "risk_periods",
    "road_cells",
    "road_devices",
    "road_findings",
    "road_observations",
    "road_points",
    "road_work_order_events",
    "road_work_orders",
    "scan_places",
    "sessions",
    "signing_keys",
    "stays",
    "subject_regions",
    "subjects",
    "summaries",
    "sync_state",
    "tallies",
    "test_results",
    "tree_heads",
    "uploads",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type; this stores UTC and attaches it again on the way out,
    and refuses naive datetimes on the way in (they are bugs).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


TS = UtcDateTime()
SID = String(32)
# BigInteger ids autoincrement on PostgreSQL; SQLite needs INTEGER for its rowid alias.
ID = BigInteger().with_variant(Integer(), "sqlite")

subjects = Table(
    "subjects",
    metadata,
    Column("sid", SID, primary_key=True),
    Column("region", String(6), nullable=False),
    Column("doc_type", String(4), nullable=False),
    Column("enc_name", LargeBinary, nullable=False),
    Column("enc_id_number", LargeBinary, nullable=False),
    Column("enc_phone", LargeBinary),
    Column("enc_address", LargeBinary),
    # What a checkpoint may see: surname + '*', first two and last two ID characters.
    Column("masked_name", String(64), nullable=False),
    Column("masked_id", String(32), nullable=False),
    Column("birth_year", Integer),
    # When the hub last sent this subject's earlier national data (None: still to fetch).
    Column("backfilled_at", TS),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    # HMAC of the phone number under the node's data key: lookup without storing the phone.
    Column("phone_hash", LargeBinary(32), nullable=False, unique=True),
    Column("enc_phone", LargeBinary, nullable=False),
    Column("created_at", TS, nullable=False),
)

links = Table(
    "links",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id"), primary_key=True),
    Column("sid", SID, ForeignKey("subjects.sid"), primary_key=True),
    Column("relationship", String(32), nullable=False),  # "self" or the relative's relation
    Column("created_at", TS, nullable=False),  # when the link was made: when consent was given
    # How the link was justified (issuer/proxies.py): registered (this account made the record),
    # phone (the account's phone is the phone on record), sms (a code sent to the phone on
    # record), staff (an in-person check, audited) or unverified (made before consent existed).
    Column("consent", String(16), nullable=False, server_default="unverified"),
    # What a proxy sees beyond the code and colour, granted by the subject (or staff).
    Column("grant_itinerary", Boolean, nullable=False, server_default=false()),
    Column("grant_tests", Boolean, nullable=False, server_default=false()),
    Index("ix_links_sid", "sid"),
)

link_requests = Table(
    "link_requests",
    metadata,
    # An account asks to act for a subject who already has a record: pending its consent.
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, ForeignKey("subjects.sid"), nullable=False),
    Column("account_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("relationship", String(32), nullable=False),
    # HMAC of the one-time code sent to the phone on record (None: no phone on record).
    Column("code_hash", LargeBinary(32)),
    Column("code_expires_at", TS, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_link_requests_sid_account_id", "sid", "account_id", unique=True),
    Index("ix_link_requests_account_id", "account_id"),
)

otps = Table(
    "otps",
    metadata,
    Column("phone_hash", LargeBinary(32), primary_key=True),
    Column("code_hash", LargeBinary(32), nullable=False),
    Column("sent_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
)

sms_outbox = Table(
    "sms_outbox",
    metadata,
    # Text messages committed in the transaction they belong to (a one-time code, a consent
    # code) and handed to the gateway after it: a message is never sent for a change that was
    # rolled back, nor lost to a gateway that was down. A row is deleted once the gateway took
    # it; phone and text are encrypted (the text holds a code).
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("enc_phone", LargeBinary, nullable=False),
    Column("enc_text", LargeBinary, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("next_try_at", TS, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", String(200)),
    Index("ix_sms_outbox_next_try_at", "next_try_at"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    # What the credential is limited to: a region for nodes and authorities, a lab id for labs;
    # None means the whole node (staff, checkpoints, the administrator, a national authority).
    Column("scope", String(32)),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS),
)

declarations = Table(
    "declarations",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, ForeignKey("subjects.sid"), nullable=False),
    Column("declared_at", TS, nullable=False),
    Column("temperature", Float),
    Column("symptoms", JSON, nullable=False),
    Column("residence", String(9)),
    Column("contact_with_case", Boolean, nullable=False),
    Column("proxy_relationship", String(32)),
    Column("expires_at", TS, nullable=False),
    Index("ix_declarations_sid_declared_at", "sid", "declared_at"),
)

stays = Table(
    "stays",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, ForeignKey("subjects.sid"), nullable=False),
    Column("area", String(9), nullable=False),
    Column("arrived", TS, nullable=False),
    Column("left_at", TS),
    Column("source", String(16), nullable=False),
    Column("voided_at", TS),  # set when a correction removes the record
    Column("origin", BigInteger, unique=True),  # the hub feed's seq, for checkpoint scans
    Column("checkpoint", String(100)),  # a scan's checkpoint, as it named itself
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_stays_sid_arrived", "sid", "arrived"),
    # who stayed where a risk changed (issuer/sync.py): live rows only, answered by the index
    Index(
        "ix_stays_area_sid",
        "area",
        "sid",
        sqlite_where=text("voided_at IS NULL"),
        postgresql_where=text("voided_at IS NULL"),
    ),
)

test_results = Table(
    "test_results",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, nullable=False),
    Column("sampled_at", TS, nullable=False),
    Column("reported_at", TS, nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("lab", String(64), nullable=False),
    Column("origin", BigInteger, unique=True),  # the hub feed's seq, for mirrored rows
    Column("expires_at", TS, nullable=False),
    Index("ix_test_results_sid_sampled_at", "sid", "sampled_at"),
)

identity_checks = Table(
    "identity_checks",
    metadata,
    # An issuer's mirror of the police's identity checks of its subjects (the hub's feed,
    # kind ``identity``): whether the name matched the document, never the name itself.
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, nullable=False),
    Column("matched", Boolean, nullable=False),
    Column("department", String(32), nullable=False),
    Column("checked_at", TS, nullable=False),
    Column("origin", BigInteger, unique=True),  # the hub feed's seq
    Column("expires_at", TS, nullable=False),
    Index("ix_identity_checks_sid_checked_at", "sid", "checked_at"),
)

case_facts = Table(
    "case_facts",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, nullable=False),
    Column("status", String(16), nullable=False),
    Column("since", TS, nullable=False),
    Column("origin", BigInteger, unique=True),
    Column("expires_at", TS, nullable=False),
    Index("ix_case_facts_sid", "sid"),
)

contact_facts = Table(
    "contact_facts",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("last_exposure", TS, nullable=False),
    Column("origin", BigInteger, unique=True),
    Column("expires_at", TS, nullable=False),
    Index("ix_contact_facts_sid", "sid"),
)

quarantine_orders = Table(
    "quarantine_orders",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, nullable=False),
    Column("starts_at", TS, nullable=False),
    Column("ends_at", TS, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("origin", BigInteger, unique=True),
    Column("expires_at", TS, nullable=False),
    Index("ix_quarantine_orders_sid", "sid"),
)

risk_periods = Table(
    "risk_periods",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("area", String(9), nullable=False),
    Column("level", String(8), nullable=False),
    Column("effective_from", TS, nullable=False),
    Column("until", TS),
    Column("set_by", String(100), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("origin", BigInteger, unique=True),  # the hub's period id, for mirrored rows
    Index("ix_risk_periods_area", "area"),
    Index("ix_risk_periods_version", "version"),
)

assessments = Table(
    "assessments",
    metadata,
    # The current colour of each subject: the online status that every verify looks up.
    Column("sid", SID, ForeignKey("subjects.sid"), primary_key=True),
    Column("colour", String(8), nullable=False),
    Column("colour_since", TS, nullable=False),
    Column("assessed_at", TS, nullable=False),
    Column("ruleset", String(64), nullable=False),
    Column("body", JSON, nullable=False),  # Assessment.to_dict(): reasons, turn-green
    Column("pushed_at", TS),  # when this colour was last shared with the hub (Mode 1)
    # When the colour may change with no new fact (a recovery date, a lapse): reassess then.
    Column("review_at", TS),
    Index("ix_assessments_review_at", "review_at"),
    Index("ix_assessments_pushed_at", "pushed_at"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, ForeignKey("subjects.sid"), nullable=False),
    Column("account_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # itinerary | other
    Column("target_id", BigInteger),  # the stay a correction disputes
    Column("statement", Text, nullable=False),
    Column("status", String(10), nullable=False),  # pending | accepted | rejected
    Column("created_at", TS, nullable=False),
    Column("decided_at", TS),
    Column("decided_by", String(100)),
    Column("decision_note", Text),
    Column("expires_at", TS, nullable=False),
    Index("ix_corrections_sid", "sid"),
)

overrides = Table(
    "overrides",
    metadata,
    # A manual colour (人工赋码) that the rules did not give: a reason from a closed list, a
    # recorded fact under each person, an expiry, and two different authority staff (四眼原则);
    # above the hourly limit the hub's authority too (domain/overrides.py, issuer/overrides.py).
    # Holds no personal data itself: its people are rows of ``override_subjects``.
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("colour", String(8), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("note", Text, nullable=False),
    # pending | awaiting_hub | active | refused | withdrawn (expiry is ``expires_at``)
    Column("status", String(16), nullable=False),
    Column("subjects", Integer, nullable=False),
    Column("sids_sha256", String(64), nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("requested_at", TS, nullable=False),
    Column("approved_by", String(100)),
    Column("approved_at", TS),
    Column("hub_approval", JSON),  # the hub's signed approval, when one was needed
    Column("decided_at", TS),  # refused or withdrawn
    Column("decision_note", Text),
    Column("effective_at", TS),  # when it took effect (active)
    Column("log_index", BigInteger),  # its ``override.applied`` entry in this issuer's log
    Column("expires_at", TS, nullable=False),
    Index("ix_overrides_status_effective_at", "status", "effective_at"),
)

override_subjects = Table(
    "override_subjects",
    metadata,
    # The people of one override, each with the recorded fact it rests on (a feed row the hub
    # took from a health authority or a signed lab: its ``seq`` and kind).
    Column("override_id", ID, ForeignKey("overrides.id"), primary_key=True),
    Column("sid", SID, primary_key=True),
    Column("fact_kind", String(16), nullable=False),
    Column("fact_seq", BigInteger, nullable=False),
    Column("lifted_at", TS),  # an accepted appeal lifts it for this person
    Column("expires_at", TS, nullable=False),
    Index("ix_override_subjects_sid", "sid"),
)

colour_changes = Table(
    "colour_changes",
    metadata,
    # Every change of a person's stored colour (and a first colour that is not green): what
    # the person sees of how their colour came about, each change with the reasons behind it
    # (rule and fact, or override) — ``reasons`` is the list of the assessment's reasons.
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, nullable=False),
    Column("at", TS, nullable=False),
    Column("colour_from", String(8)),
    Column("colour_to", String(8), nullable=False),
    Column("ruleset", String(64), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_colour_changes_sid_at", "sid", "at"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", LargeBinary(8), primary_key=True),
    # The region the key signs for: the node's own, or at the hub "000000" (national codes)
    # and each region it hosts in Mode 3.
    Column("region", String(6), nullable=False),
    Column("alg", Integer, nullable=False),
    Column("enc_private", LargeBinary, nullable=False),
    Column("public_der", LargeBinary, nullable=False),
    Column("not_before", TS, nullable=False),
    Column("not_after", TS),
    Column("revoked_at", TS),
    Column("created_at", TS, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("actor_role", String(20), nullable=False),
    Column("action", String(40), nullable=False),
    Column("sid", SID),
    Column("purpose", String(200), nullable=False),
    Index("ix_audit_log_sid", "sid"),
    Index("ix_audit_log_at", "at"),
)


# ----------------------------------------------------------------- issuer: federation mirror
summaries = Table(
    "summaries",
    metadata,
    # Mode 1: colour summaries of this node's subjects from other regions, mirrored from the hub.
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, nullable=False),
    Column("region", String(6), nullable=False),
    Column("colour", String(8), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("colour_since", TS),
    Column("assessed_at", TS, nullable=False),
    Column("origin", BigInteger, unique=True),
    Column("expires_at", TS, nullable=False),
    Index("ix_summaries_sid", "sid"),
)

sync_state = Table(
    "sync_state",
    metadata,
    # One row per list this node mirrors from the hub: where it got to, and when.
    Column("name", String(32), primary_key=True),
    Column("cursor", BigInteger, nullable=False),
    Column("etag", String(100)),
    Column("synced_at", TS),
    Column("attempted_at", TS),
    Column("error", String(200)),
)

feed_quarantine = Table(
    "feed_quarantine",
    metadata,
    # Feed rows from the hub that this node could not apply (a time out of range, an unknown
    # kind, a missing field): kept with the reason so staff can see them and the sync goes on.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("sid", SID),
    Column("kind", String(12)),
    Column("reason", String(200), nullable=False),
    Column("item", JSON, nullable=False),  # the row as the hub sent it (pseudonymous)
    Column("quarantined_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

# ------------------------------------------------------------------------------------ hub
counters = Table(
    "counters",
    metadata,
    # Version counters for the lists the hub serves. A writer takes the next value with an
    # UPDATE that holds the row lock until commit, so versions become visible in order.
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

issuers = Table(
    "issuers",
    metadata,
    Column("region", String(6), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(10), nullable=False),  # native | legacy | hosted | national
    Column("endpoint", String(300)),
    Column("legacy_prefix", String(20)),
    Column("status", String(10), nullable=False),  # active | suspended
    # The hub's own credential at this issuer (for status look-ups), encrypted.
    Column("enc_outbound", LargeBinary),
    Column("version", BigInteger, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

issuer_keys = Table(
    "issuer_keys",
    metadata,
    Column("kid", LargeBinary(8), primary_key=True),
    Column("region", String(6), ForeignKey("issuers.region"), nullable=False),
    Column("alg", Integer, nullable=False),
    Column("public_der", LargeBinary, nullable=False),
    Column("not_before", TS, nullable=False),
    Column("not_after", TS),
    Column("revoked_at", TS),
    Column("version", BigInteger, nullable=False),
    Column("created_at", TS, nullable=False),
    Index("ix_issuer_keys_version", "version"),
)

registry_changes = Table(
    "registry_changes",
    metadata,
    # Append-only: every change to the issuer registry, who made it and what it was. Nothing
    # updates or deletes a row (and the retention purge does not touch it).
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("actor", String(100), nullable=False),  # the caller's credential name
    Column("actor_role", String(20), nullable=False),  # admin | node | hub (the hub itself)
    # issuer.registered | issuer.updated | issuer.suspended | key.added | key.rotated |
    # key.retired | key.revoked
    Column("action", String(40), nullable=False),
    Column("region", String(6), nullable=False),
    Column("kid", LargeBinary(8)),
    Column("trust_version", BigInteger, nullable=False),  # the trust-list version it made
    Column("detail", JSON, nullable=False),
)

labs = Table(
    "labs",
    metadata,
    Column("lab_id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("region", String(6), nullable=False),
    Column("kid", LargeBinary(8), nullable=False),
    Column("alg", Integer, nullable=False),
    Column("public_der", LargeBinary, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", TS, nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    # A lab's batch is taken once: a repeated batch id is acknowledged, not stored again.
    Column("batch_id", String(64), primary_key=True),
    Column("lab_id", String(32), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("first_seq", BigInteger),
    Column("received_at", TS, nullable=False),
)

departments = Table(
    "departments",
    metadata,
    # Departments that send feeds to the hub (hub/departments.py): police identity checks, rail
    # and aviation manifests, telecom stays. Registered like labs, with their public key.
    Column("department_id", String(32), primary_key=True),
    Column("kind", String(10), nullable=False),  # police | rail | aviation | telecom
    Column("name", String(100), nullable=False),
    Column("region", String(6), nullable=False),
    Column("kid", LargeBinary(8), nullable=False),
    Column("alg", Integer, nullable=False),
    Column("public_der", LargeBinary, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", TS, nullable=False),
)

department_batches = Table(
    "department_batches",
    metadata,
    # A department's batch is taken once: the same body again gets the same answer, another
    # body under the same id is refused (409). The signature is kept as the batch's provenance.
    Column("batch_id", String(64), primary_key=True),
    Column("department_id", String(32), nullable=False),
    Column("kind", String(10), nullable=False),  # identity | rail | aviation | telecom
    Column("sha256", String(64), nullable=False),  # of the signed message
    Column("signature", LargeBinary, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("answer", JSON, nullable=False),  # what the upload answered (rejected rows' reasons)
    Column("first_seq", BigInteger),  # the feed rows it made
    Column("last_seq", BigInteger),
    Column("log_index", BigInteger),  # its entry in the hub's transparency log
    Column("received_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

department_records = Table(
    "department_records",
    metadata,
    # One record of a department's batch, pseudonymous: the subject's sid (the document number
    # is dropped), a name or phone only as a keyed index. Provenance: department, batch, row.
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("sid", SID, nullable=False),
    Column("kind", String(10), nullable=False),  # identity | rail | aviation | telecom
    Column("department_id", String(32), nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("row", Integer, nullable=False),
    Column("feed_seq", BigInteger),  # the (first) feed row it made
    Column("matched", Boolean),  # identity: the police said the name matches the document
    Column("name_index", LargeBinary(32)),  # identity: HMAC of the name checked
    Column("phone_index", LargeBinary(32)),  # telecom: HMAC of the phone
    Column("trip", String(48)),  # rail|aviation:number:date, e.g. rail:G1234:2026-12-01
    Column("carriage", String(4)),
    Column("seat", String(6)),
    Column("seat_row", Integer),
    Column("from_area", String(9)),  # a manifest's departure
    Column("area", String(9)),  # a manifest's arrival, a telecom stay's city
    Column("starts_at", TS, nullable=False),  # departure, stay start, time of the check
    Column("ends_at", TS),  # arrival, stay end
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_department_records_sid_starts_at", "sid", "starts_at"),
    Index("ix_department_records_trip", "trip"),
    Index("ix_department_records_expires_at", "expires_at"),
)

hub_feed = Table(
    "hub_feed",
    metadata,
    # Everything the hub shares about subjects, pseudonymous, in one ordered feed:
    # kind = case | contact | quarantine | test | summary. Issuers mirror the rows of their
    # own subjects by seq.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("sid", SID, nullable=False),
    # case|contact|quarantine|test|summary|scan, and a department's stay|identity
    Column("kind", String(12), nullable=False),
    Column("region", String(6)),  # where it came from (issuer region or lab region)
    Column("body", JSON, nullable=False),
    # A client-chosen id (a scan's uuid, a lab batch row) so a retried upload lands once.
    Column("dedupe", String(80), unique=True),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_hub_feed_sid_seq", "sid", "seq"),
)

feed_batches = Table(
    "feed_batches",
    metadata,
    # Provenance of the feed's facts: each batch of facts (an authority's) or results (a signed
    # lab's) with the seqs it took and its entry in the hub's transparency log, so that any fact
    # can be traced to who uploaded it and the log entry holding the digest of its batch.
    Column("first_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("log_index", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # facts.batch | results.batch
    Column("created_at", TS, nullable=False),
)

scan_places = Table(
    "scan_places",
    metadata,
    # The hub's index of checkpoint scans by place and time, for contact tracing (流调,
    # hub/tracing.py, docs/travel.md): one row per scan feed row, written in the same
    # transaction, pseudonymous (sid) like the feed. On PostgreSQL partitioned by day of ``at``
    # (migration 0016, adapters/db/partitions.py), so a query over a window reads its days only.
    Column("sid", SID, primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),  # the feed row
    Column("at", TS, primary_key=True),
    Column("area", String(9), nullable=False),  # the checkpoint's area
    Column("checkpoint", String(100), nullable=False),  # the gate's name
    Column("region", String(6)),  # the checkpoint credential's scope
    Column("expires_at", TS, nullable=False),
    Index("ix_scan_places_area_at", "area", "at"),
    Index("ix_scan_places_sid_at", "sid", "at"),
)

subject_regions = Table(
    "subject_regions",
    metadata,
    # Which issuers hold a subject: the feed sends each of them that subject's rows.
    Column("sid", SID, primary_key=True),
    Column("region", String(6), primary_key=True),
    Column("created_at", TS, nullable=False),
    Index("ix_subject_regions_region_sid", "region", "sid"),
)

policies = Table(
    "policies",
    metadata,
    # Entry policies (通行规则): CertLogic over the shared facts, per region and kind of place.
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("region", String(6), nullable=False),
    Column("place_kind", String(16), nullable=False),  # any | transport | residential | ...
    Column("version", BigInteger, nullable=False),
    Column("rule", JSON, nullable=False),
    Column("description", Text, nullable=False),
    Column("valid_from", TS, nullable=False),
    Column("valid_to", TS),
    Column("set_by", String(100), nullable=False),
    Column("created_at", TS, nullable=False),
    Index("ix_policies_region_version", "region", "version"),
)

international_trust = Table(
    "international_trust",
    metadata,
    # Foreign certificates' trust, imported by the hub administrator (hub/international.py):
    # family "dcc", key a DSC's kid (hex), label its country, data its DER (base64); family
    # "shc", key an issuer's iss URL, label its name, data its JWKS keys (JSON). An import
    # replaces its family's rows, all at one new ``international`` version.
    Column("family", String(3), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("data", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("imported_at", TS, nullable=False),
)

tallies = Table(
    "tallies",
    metadata,
    # Counts for the hub's dashboards, per hour (UTC) — never a person's data: Mode 1 summaries
    # by issuer region and colour, scans by province and decision, test results by lab and
    # outcome (each added in the transaction that appends the feed rows), Mode 2 calls by the
    # region asked about and the code's issuer (flushed from memory every few seconds).
    Column("kind", String(12), primary_key=True),  # summary | scan | test | mode2
    Column("hour", TS, primary_key=True),
    Column("region", String(6), primary_key=True),  # "" when none
    Column("grp", String(32), primary_key=True),  # a lab id, a code's issuer; "" when none
    Column("label", String(16), primary_key=True),  # colour | decision | outcome | call
    Column("n", BigInteger, nullable=False),
)

log_entries = Table(
    "log_entries",
    metadata,
    # The transparency log (hub/translog.py, docs/transparency.md): append-only, one row per
    # change the log records, written in the transaction of that change. ``entry`` is the
    # entry's canonical JSON (RFC 8785), never personal data (a batch of facts is there as the
    # SHA-256 of its content); ``leaf_hash`` is RFC 9162's SHA-256(0x00 ‖ entry). Nothing
    # updates or deletes a row (and the retention purge does not touch it).
    Column("idx", BigInteger, primary_key=True, autoincrement=False),  # 0, 1, 2, ...
    Column("kind", String(32), nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("appended_at", TS, nullable=False),
)

tree_heads = Table(
    "tree_heads",
    metadata,
    # The log's signed tree heads: the Merkle tree hash of its first ``tree_size`` entries,
    # signed by the hub's list-signing key at ``signed_at`` (hub/translog.py rebuilds the
    # signed document from these columns).
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("signed_at", TS, nullable=False),
    Column("kid", LargeBinary(8), nullable=False),
    Column("alg", Integer, nullable=False),
    Column("signature", LargeBinary, nullable=False),
)

# ------------------------------------------------------------------------- every node: limits
rate_counts = Table(
    "rate_counts",
    metadata,
    # Per-client limits (adapters/db/limits.py): how many events of one limit and one key (a
    # client address, a phone's keyed hash, a credential name) fell in one fixed window. Shared
    # by every worker of the node; the purge job deletes windows that have ended.
    Column("name", String(32), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("window_seconds", Integer, primary_key=True),
    Column("window_start", BigInteger, primary_key=True),  # POSIX seconds
    Column("hits", Integer, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_rate_counts_expires_at", "expires_at"),
)


# ----------------------------------------------------- the road node (路面健康码, docs/road.md)
# A road node serves one district (one Gauss–Krüger zone), so a cell is its (e, n): the easting and
# northing in metres of its south-west corner. Nothing here is about a person: devices are
# vehicles of an organisation or citizens' phones known only by the id their app chose.
road_devices = Table(
    "road_devices",
    metadata,
    # Vehicles registered with a public key (they sign their batches), and citizens' phones,
    # known from their first report (no key; never trusted).
    Column("device_id", String(64), primary_key=True),
    Column("owner_kind", String(8), nullable=False),  # vehicle | citizen
    Column("owner", String(100), nullable=False),  # the organisation; "" for a phone
    Column("public_key", LargeBinary),  # DER SubjectPublicKeyInfo (vehicles)
    Column("trusted", Boolean, nullable=False, server_default=false()),
    Column("registered_at", TS, nullable=False),
    Column("revoked_at", TS),
)

road_observations = Table(
    "road_observations",
    metadata,
    # Every observation taken, once per (device, seq): a detection, a clear pass or a phone's
    # bump. ``digest`` is the SHA-256 of its signed bytes (a retry must match it).
    Column("device_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("e", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Column("observed_at", TS, nullable=False),
    Column("kind", String(9), nullable=False),  # detection | clear | bump
    Column("defect", String(32)),
    Column("severity", SmallInteger),  # 1 light, 2 moderate, 3 severe
    Column("confidence", Float, nullable=False),
    Column("magnitude_g", Float),  # a bump's peak vertical acceleration
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("datum", String(8), nullable=False),  # WGS84 | CGCS2000, as the device sent it
    Column("heading_deg", Float),
    Column("speed_mps", Float),
    Column("image_sha256", String(64)),
    Column("owner_kind", String(8), nullable=False),
    Column("signed", Boolean, nullable=False),
    Column("trusted", Boolean, nullable=False),
    Column("digest", LargeBinary(32), nullable=False),
    Column("received_at", TS, nullable=False),
    Index("ix_road_observations_e_n_observed_at", "e", "n", "observed_at"),
)

road_cells = Table(
    "road_cells",
    metadata,
    # The cells that are not green, and only those (a district has millions of cells): their
    # colour, worst severity, defect types (",pothole,debris," for the map's filter) and reasons.
    Column("e", Integer, primary_key=True, autoincrement=False),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("colour", SmallInteger, nullable=False),  # 1 yellow, 2 red
    Column("severity", SmallInteger, nullable=False),
    Column("defects", String(400), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("confirmed_at", TS, nullable=False),
    Column("first_seen_at", TS, nullable=False),
    Column("ruleset", String(40), nullable=False),
    Column("work_order", String(40)),
    Column("updated_at", TS, nullable=False),
    Index("ix_road_cells_n_e", "n", "e"),
)

road_findings = Table(
    "road_findings",
    metadata,
    # Each confirmed finding (a defect type in a cell) with its evidence: the SHA-256 over the
    # digests of the observations that counted, and its entry in the node's transparency log.
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("e", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Column("defect", String(32), nullable=False),
    Column("severity", SmallInteger, nullable=False),
    Column("colour", SmallInteger, nullable=False),
    Column("first_seen_at", TS, nullable=False),
    Column("confirmed_at", TS, nullable=False),
    Column("cleared_at", TS),
    Column("trusted", Boolean, nullable=False),
    Column("devices", Integer, nullable=False),
    Column("observations", Integer, nullable=False),
    Column("evidence", LargeBinary(32), nullable=False),
    Column("evidence_keys", JSON, nullable=False),  # [[device_id, seq], …] it covers
    Column("ruleset", String(40), nullable=False),
    Column("work_order", String(40)),
    Column("log_index", BigInteger),
    Index("ix_road_findings_e_n", "e", "n"),
)

road_work_orders = Table(
    "road_work_orders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("team", String(64), nullable=False),
    Column("road_id", String(64), nullable=False),
    Column("defect", String(32), nullable=False),
    Column("severity", SmallInteger, nullable=False),
    Column("status", String(12), nullable=False),  # dispatched | on_site | repaired | verified
    Column("cells", JSON, nullable=False),  # cell ids "zone:e:n"
    Column("dispatched_at", TS, nullable=False),
    Column("deadline", TS, nullable=False),
    Column("escalation", Integer, nullable=False),
    Column("repair_photo_sha256", String(64)),
    Column("first_observed_at", TS, nullable=False),  # the earliest observation of its findings
    Column("confirmed_at", TS, nullable=False),  # when its first finding was confirmed
    Column("repaired_at", TS),
    Column("updated_at", TS, nullable=False),
    Index("ix_road_work_orders_status", "status"),
)

road_work_order_events = Table(
    "road_work_order_events",
    metadata,
    # Every step of a work order, with its entry in the node's transparency log.
    Column("order_id", String(40), primary_key=True),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("at", TS, nullable=False),
    Column("kind", String(16), nullable=False),  # dispatched on_site repaired verified reopened …
    Column("detail", String(200), nullable=False),
    Column("log_index", BigInteger),
)

road_points = Table(
    "road_points",
    metadata,
    # Citizens' reward points: one award per finding (the primary key), and never twice to one
    # device for one cell (the unique key: the anti-gaming rule).
    Column("finding_id", BigInteger, primary_key=True, autoincrement=False),
    Column("device_id", String(64), nullable=False),
    Column("e", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Column("points", Integer, nullable=False),
    Column("awarded_at", TS, nullable=False),
    UniqueConstraint("device_id", "e", "n", name="uq_road_points_device_id_e_n"),
)
