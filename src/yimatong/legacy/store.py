"""The HBJKM imitation's storage and rules: its own tables, its own MetaData, its own codes.

This is a *separate system* that happens to ship inside yimatong so the hub's adapter can be
tested against something real. Nothing here is part of yimatong's schema: the tables live in the
legacy system's own database, are created with ``metadata.create_all`` when it starts ("the
legacy system manages its own schema") and never appear in yimatong's Alembic migrations.

Its rules, which are not ours:

* a code is ``HBJKM:`` + 32 lower-case hex characters, random, valid 24 hours; a new code does
  not revoke the old ones; only a SHA-256 of each code is stored;
* statuses (``healthyStaus``, sic) are two-character strings: ``00`` 绿码, ``01`` 黄码,
  ``10`` 红码 (高风险), ``11`` 红码 (确诊/隔离);
* test results (``hsjcjg``) are ``阴性`` or ``阳性``;
* times are stored as Unix seconds and shown as Beijing local time ``yyyy-MM-dd HH:mm:ss``
  without an offset, as such systems did;
* card types (``zjlx``) are its own codes, ``1`` 居民身份证 ... ``5`` 外国人永久居留身份证.

Personal data: the name, card number and phone are sealed with
:class:`yimatong.adapters.crypto.FieldCipher`; what is needed in clear is stored masked (the
display forms) or as a keyed hash (the card index that keeps a card from registering twice).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
)
from sqlalchemy.exc import IntegrityError

from yimatong.adapters.crypto import FieldCipher
from yimatong.domain.edge import BadValue, check_name, check_time
from yimatong.domain.errors import InvalidDocument
from yimatong.domain.identity import DocumentType, mask_id, mask_name, validate_document

__all__ = [
    "BEIJING",
    "CARD_TYPES",
    "CODE_LIFETIME",
    "CODE_PREFIX",
    "ERRMSG",
    "STATUSES",
    "TEST_RESULTS",
    "ErrCode",
    "LegacyError",
    "LegacyStore",
    "format_time",
    "issue_code",
    "metadata",
    "parse_time",
    "register_person",
]

#: The legacy system shows Beijing time without an offset.
BEIJING: Final = timezone(timedelta(hours=8), "CST")
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"

CODE_PREFIX: Final = "HBJKM:"
CODE_LIFETIME: Final = timedelta(hours=24)
_CODE_SHAPE = re.compile(r"HBJKM:[0-9a-f]{32}")

#: ``healthyStaus`` values this system assigns (its own meaning, see the module docstring).
STATUSES: Final = {"00": "绿码", "01": "黄码", "10": "红码", "11": "红码"}
#: ``hsjcjg`` values it records.
TEST_RESULTS: Final = frozenset({"阴性", "阳性"})
#: ``zjlx``: the system's own card-type codes and the documents they are.
CARD_TYPES: Final[Mapping[str, DocumentType]] = {
    "1": DocumentType.RESIDENT_ID,
    "2": DocumentType.PASSPORT,
    "3": DocumentType.HK_MACAO_PERMIT,
    "4": DocumentType.TAIWAN_PERMIT,
    "5": DocumentType.FOREIGN_PERMANENT_RESIDENT,
}
_PHONE = re.compile(r"1[3-9][0-9]{9}")
_USER_ID = re.compile(r"[0-9a-f]{32}")
_MAX_NAME = 64


class ErrCode:
    """The system's ``errcode`` values (HTTP 200 carries most of them)."""

    OK: Final = 0
    SYSTEM_BUSY: Final = -1
    INVALID_CODE: Final = 40001
    BAD_PARAMETER: Final = 40002
    CODE_EXPIRED: Final = 40003
    UNKNOWN_USER: Final = 40004
    BAD_CARD: Final = 40005
    ALREADY_REGISTERED: Final = 40006
    BAD_APP_KEY: Final = 40100
    BAD_SIGN: Final = 40101
    BAD_TIMESTAMP: Final = 40102
    NO_SCOPE: Final = 40300
    NO_SUCH_API: Final = 40400


ERRMSG: Final[Mapping[int, str]] = {
    ErrCode.OK: "ok",
    ErrCode.SYSTEM_BUSY: "系统繁忙，请稍后再试",
    ErrCode.INVALID_CODE: "无效的健康码",
    ErrCode.BAD_PARAMETER: "参数错误",
    ErrCode.CODE_EXPIRED: "健康码已过期，请刷新",
    ErrCode.UNKNOWN_USER: "用户不存在",
    ErrCode.BAD_CARD: "证件号码格式错误",
    ErrCode.ALREADY_REGISTERED: "该证件号码已注册",
    ErrCode.BAD_APP_KEY: "appKey无效",
    ErrCode.BAD_SIGN: "签名错误",
    ErrCode.BAD_TIMESTAMP: "timestamp无效或已过期",
    ErrCode.NO_SCOPE: "无接口访问权限",
    ErrCode.NO_SUCH_API: "接口不存在",
}


class LegacyError(Exception):
    """An error of the legacy system: an ``errcode`` and its ``errmsg``."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSG.get(errcode, "未知错误")
        super().__init__(f"{errcode} {self.errmsg}")


# ------------------------------------------------------------------------------------- tables

metadata = MetaData()

users = Table(
    "hb_user",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("card_type", String(2), nullable=False),
    # HMAC-SHA256(index key, zjlx ":" number): finds a card registered twice, reveals nothing.
    Column("card_index", String(64), nullable=False, unique=True),
    Column("card_enc", LargeBinary, nullable=False),
    Column("name_enc", LargeBinary, nullable=False),
    Column("phone_enc", LargeBinary, nullable=False),
    Column("name_masked", String(_MAX_NAME), nullable=False),
    Column("card_masked", String(32), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
)

codes = Table(
    "hb_code",
    metadata,
    Column("code_hash", String(64), primary_key=True),  # SHA-256 hex of the code
    Column("user_id", String(32), ForeignKey("hb_user.user_id"), nullable=False, index=True),
    Column("issued_ts", BigInteger, nullable=False),
    Column("expire_ts", BigInteger, nullable=False),
)

reports = Table(
    "hb_health_report",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(32), ForeignKey("hb_user.user_id"), nullable=False),
    Column("healthy_staus", String(2), nullable=False),
    Column("report_ts", BigInteger, nullable=False),
    Index("ix_hb_health_report_user", "user_id", "report_ts"),
)

hsjc = Table(
    "hb_hsjc",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(32), ForeignKey("hb_user.user_id"), nullable=False),
    Column("hsjcjg", String(8), nullable=False),
    Column("cysj_ts", BigInteger, nullable=True),  # sampled (采样时间), when known
    Column("hsjcsj_ts", BigInteger, nullable=False),  # tested / reported (检测时间)
    Index("ix_hb_hsjc_user", "user_id", "hsjcsj_ts"),
)

#: Reports returned per validation, newest first.
REPORT_HISTORY: Final = 3


# -------------------------------------------------------------------------------------- times


def format_time(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time, no offset."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


def parse_time(text: object) -> datetime:
    """A Beijing-local ``yyyy-MM-dd HH:mm:ss`` as an aware datetime; LegacyError(40002) if not."""
    if not isinstance(text, str) or len(text) != 19:
        raise LegacyError(ErrCode.BAD_PARAMETER, "时间格式应为yyyy-MM-dd HH:mm:ss")
    try:
        # In UTC's range too (the shared check): 0001-01-01 00:00:00 in Beijing is before year 1.
        return check_time(datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING), "time")
    except ValueError:
        raise LegacyError(ErrCode.BAD_PARAMETER, "时间格式应为yyyy-MM-dd HH:mm:ss") from None


def _ts(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return int(moment.timestamp())


def _from_ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, BEIJING)


def _today(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def _hex128(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


# -------------------------------------------------------------------------------------- store


class LegacyStore:
    """The legacy system's data and rules over one SQLAlchemy engine.

    ``index_key`` keys the card index (so an ID number cannot be tested against it without the
    key); ``cipher`` seals the personal fields.
    """

    def __init__(self, engine: Engine, cipher: FieldCipher, index_key: bytes) -> None:
        if not isinstance(index_key, bytes) or len(index_key) < 16:
            raise ValueError("the card index key must be at least 16 bytes")
        self.engine = engine
        self._cipher = cipher
        self._index_key = index_key

    def create_schema(self) -> None:
        """Create the legacy tables if they are missing (the system manages its own schema)."""
        metadata.create_all(self.engine, checkfirst=True)

    # --------------------------------------------------------------------------- registration

    def register(
        self,
        *,
        name: str,
        card_type: str,
        card_id: str,
        phone: str,
        now: datetime,
        rng: random.Random,
        status: str = "00",
    ) -> str:
        """Register a person (用户注册) with an initial status; the new ``userId``."""
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not name or len(name) > _MAX_NAME:
            raise LegacyError(ErrCode.BAD_PARAMETER, "姓名不能为空且不超过64个字符")
        try:
            check_name(name)  # NUL, bidi overrides, zero-width: the masked name would start so
        except BadValue:
            raise LegacyError(ErrCode.BAD_PARAMETER, "姓名含有控制字符或不可见字符") from None
        doc_type = CARD_TYPES.get(card_type) if isinstance(card_type, str) else None
        if doc_type is None:
            raise LegacyError(ErrCode.BAD_PARAMETER, "证件类型无效")
        if not isinstance(card_id, str) or len(card_id) > 32:
            raise LegacyError(ErrCode.BAD_CARD)
        try:
            number = validate_document(doc_type, card_id, today=_today(now))
        except InvalidDocument:
            raise LegacyError(ErrCode.BAD_CARD) from None
        if not isinstance(phone, str) or not _PHONE.fullmatch(phone):
            raise LegacyError(ErrCode.BAD_PARAMETER, "手机号码格式错误")
        _check_status(status)

        user_id = _hex128(rng)
        uid = user_id.encode("ascii")
        index = hmac.new(
            self._index_key, f"{card_type}:{number}".encode(), hashlib.sha256
        ).hexdigest()
        row = {
            "user_id": user_id,
            "card_type": card_type,
            "card_index": index,
            "card_enc": self._cipher.encrypt(number, aad=b"hb_user.card:" + uid),
            "name_enc": self._cipher.encrypt(name, aad=b"hb_user.name:" + uid),
            "phone_enc": self._cipher.encrypt(phone, aad=b"hb_user.phone:" + uid),
            "name_masked": mask_name(name),
            "card_masked": mask_id(number),
            "created_ts": _ts(now),
        }
        try:
            with self.engine.begin() as conn:
                taken = conn.execute(
                    select(users.c.user_id).where(users.c.card_index == index)
                ).first()
                if taken is not None:
                    raise LegacyError(ErrCode.ALREADY_REGISTERED)
                conn.execute(users.insert().values(row))
                conn.execute(
                    reports.insert().values(
                        user_id=user_id, healthy_staus=status, report_ts=_ts(now)
                    )
                )
        except IntegrityError:  # a concurrent registration of the same card won the race
            raise LegacyError(ErrCode.ALREADY_REGISTERED) from None
        return user_id

    def issue_code(
        self, user_id: str, *, now: datetime, rng: random.Random
    ) -> tuple[str, datetime]:
        """A new code for ``user_id`` (生成健康码) and when it expires (24 hours on)."""
        code = CODE_PREFIX + _hex128(rng)
        expires = now + CODE_LIFETIME
        with self.engine.begin() as conn:
            self._require_user(conn, user_id)
            conn.execute(
                codes.insert().values(
                    code_hash=_code_hash(code),
                    user_id=user_id,
                    issued_ts=_ts(now),
                    expire_ts=_ts(expires),
                )
            )
        return code, expires.astimezone(BEIJING)

    # ----------------------------------------------------------------------------- operator

    def set_status(self, user_id: str, status: str, *, now: datetime) -> None:
        """A new health status from ``now`` (the history is kept)."""
        _check_status(status)
        with self.engine.begin() as conn:
            self._require_user(conn, user_id)
            conn.execute(
                reports.insert().values(user_id=user_id, healthy_staus=status, report_ts=_ts(now))
            )

    def record_test(
        self,
        user_id: str,
        *,
        result: str,
        tested_at: datetime,
        sampled_at: datetime | None = None,
    ) -> None:
        """A nucleic-acid result (核酸检测结果): ``阴性`` or ``阳性``, tested at ``tested_at``."""
        if result not in TEST_RESULTS:
            raise LegacyError(ErrCode.BAD_PARAMETER, "hsjcjg应为阴性或阳性")
        if sampled_at is not None and sampled_at > tested_at:
            raise LegacyError(ErrCode.BAD_PARAMETER, "采样时间不能晚于检测时间")
        with self.engine.begin() as conn:
            self._require_user(conn, user_id)
            conn.execute(
                hsjc.insert().values(
                    user_id=user_id,
                    hsjcjg=result,
                    cysj_ts=None if sampled_at is None else _ts(sampled_at),
                    hsjcsj_ts=_ts(tested_at),
                )
            )

    # ---------------------------------------------------------------------------- validation

    def validate(self, code: object, *, now: datetime, full_identity: bool) -> dict[str, Any]:
        """The answer of ``validateInfo`` for ``code`` (without ``errcode``/``errmsg``).

        ``full_identity`` (the partner's ``fullIdentity`` scope) adds ``cardType`` and the full
        ``cardId`` to ``person``.
        """
        if not isinstance(code, str) or not _CODE_SHAPE.fullmatch(code):
            raise LegacyError(ErrCode.INVALID_CODE)
        with self.engine.connect() as conn:
            found = conn.execute(
                select(codes.c.expire_ts, users)
                .join(users, users.c.user_id == codes.c.user_id)
                .where(codes.c.code_hash == _code_hash(code))
            ).first()
            if found is None:
                raise LegacyError(ErrCode.INVALID_CODE)
            if found.expire_ts <= _ts(now):
                raise LegacyError(ErrCode.CODE_EXPIRED)
            history = conn.execute(
                select(reports.c.healthy_staus, reports.c.report_ts)
                .where(reports.c.user_id == found.user_id)
                .order_by(reports.c.report_ts.desc(), reports.c.id.desc())
                .limit(REPORT_HISTORY)
            ).all()
            test = conn.execute(
                select(hsjc.c.hsjcjg, hsjc.c.cysj_ts, hsjc.c.hsjcsj_ts)
                .where(hsjc.c.user_id == found.user_id)
                .order_by(hsjc.c.hsjcsj_ts.desc(), hsjc.c.id.desc())
                .limit(1)
            ).first()

        person: dict[str, str] = {
            "desensitizeName": found.name_masked,
            "desensitizeCardId": found.card_masked,
        }
        if full_identity:
            uid = found.user_id.encode("ascii")
            person["cardType"] = found.card_type
            person["cardId"] = self._cipher.decrypt(found.card_enc, aad=b"hb_user.card:" + uid)
        answer: dict[str, Any] = {
            "person": person,
            "healthyReport": [
                {"healthyStaus": r.healthy_staus, "reportTime": format_time(_from_ts(r.report_ts))}
                for r in history
            ],
            "hsjc": None,
        }
        if test is not None:
            answer["hsjc"] = {
                "hsjcjg": test.hsjcjg,
                "hsjcsj": format_time(_from_ts(test.hsjcsj_ts)),
                "cysj": "" if test.cysj_ts is None else format_time(_from_ts(test.cysj_ts)),
            }
        return answer

    # ------------------------------------------------------------------------------- helpers

    @staticmethod
    def _require_user(conn: Any, user_id: object) -> None:
        if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
            raise LegacyError(ErrCode.UNKNOWN_USER)
        if conn.execute(select(users.c.user_id).where(users.c.user_id == user_id)).first() is None:
            raise LegacyError(ErrCode.UNKNOWN_USER)


def _check_status(status: object) -> None:
    if not isinstance(status, str) or status not in STATUSES:
        raise LegacyError(ErrCode.BAD_PARAMETER, "healthyStaus应为00、01、10或11")


# ------------------------------------------------------------------------ programmatic seeding


def register_person(
    store: LegacyStore,
    *,
    name: str,
    id_number: str,
    phone: str,
    status: str = "00",
    test_result: str | None = None,
    test_time: datetime | None = None,
    test_sampled: datetime | None = None,
    card_type: str = "1",
    now: datetime,
    rng: random.Random,
) -> tuple[str, str]:
    """Register a person directly (no HTTP), record a test if given, issue a code.

    For the demo's population loader. ``status`` is a legacy status (``00`` ...),
    ``test_result`` ``阴性``/``阳性`` tested at ``test_time`` (default ``now``). Returns
    ``(user_id, code)``; raises :class:`LegacyError` as the HTTP API would answer.
    """
    user_id = store.register(
        name=name,
        card_type=card_type,
        card_id=id_number,
        phone=phone,
        status=status,
        now=now,
        rng=rng,
    )
    if test_result is not None:
        store.record_test(
            user_id, result=test_result, tested_at=test_time or now, sampled_at=test_sampled
        )
    code, _expires = store.issue_code(user_id, now=now, rng=rng)
    return user_id, code


def issue_code(
    store: LegacyStore, user_id: str, *, now: datetime, rng: random.Random
) -> tuple[str, datetime]:
    """A fresh code for a registered user and its expiry (Beijing time); see LegacyStore."""
    return store.issue_code(user_id, now=now, rng=rng)
