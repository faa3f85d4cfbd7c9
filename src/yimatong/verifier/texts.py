"""What a checkpoint shows, in Chinese and English: colours, places, reason codes, decisions.

Kept apart from the logic so that a translator edits one file. Reason codes are the machine
codes rule sets give (``stay.medium-risk``); a code without a translation is shown as itself,
which is still more than "refused".
"""

from __future__ import annotations

from yimatong.domain.overrides import REASONS

__all__ = [
    "BAD_ID",
    "COLOUR",
    "CREDENTIAL_REFUSED",
    "EXPIRED",
    "HUB_UNREACHABLE",
    "ID_OFFLINE",
    "ID_UNAVAILABLE",
    "INVALID",
    "LEGACY_OFFLINE",
    "LEGACY_UNAVAILABLE",
    "LISTS_TOO_OLD",
    "NOT_A_HUB",
    "NO_INTERNATIONAL",
    "NO_RECORD",
    "NO_TRUST",
    "OUTCOME",
    "PLACE_KIND",
    "TRAVEL_CODE",
    "TRAVEL_INVALID",
    "TRAVEL_STAR",
    "UNKNOWN_FORMAT_OFFLINE",
    "UNKNOWN_KEY",
    "UNRECOGNISED",
    "UNTRUSTED_HUB",
    "colour_label",
    "no_policy",
    "place_label",
    "reason_label",
]

#: colour → (zh, en)
COLOUR = {
    "green": ("绿码", "green"),
    "yellow": ("黄码", "yellow"),
    "red": ("红码", "red"),
}

#: outcome → (zh, en)
OUTCOME = {
    "PASS": ("通行", "pass"),
    "DENY": ("不予通行", "do not admit"),
    "CHECK": ("人工核验", "check by hand"),
}

#: place kind → (zh, en)
PLACE_KIND = {
    "any": ("所有场所", "any place"),
    "transport": ("交通场站", "transport"),
    "residential": ("居住小区", "residential estate"),
    "hospital": ("医疗机构", "hospital"),
    "school": ("学校", "school"),
    "office": ("办公场所", "office"),
}

_REASONS = {
    "case.confirmed": ("确诊病例", "confirmed case"),
    "case.asymptomatic": ("无症状感染者", "asymptomatic infection"),
    "case.suspected": ("疑似病例", "suspected case"),
    "quarantine.active": ("正在隔离", "under quarantine"),
    "contact.close": ("密切接触者", "close contact"),
    "contact.secondary": ("次密切接触者", "secondary contact"),
    "test.positive": ("核酸检测阳性", "positive test"),
    "stay.high-risk": ("高风险地区停留", "stay in a high-risk area"),
    "stay.medium-risk": ("中风险地区停留", "stay in a medium-risk area"),
    "symptom.fever": ("申报发热", "declared fever"),
    "temperature.high": ("申报体温偏高", "declared high temperature"),
    "declaration.contact": ("申报接触病例", "declared contact with a case"),
    "popup.identity-mismatch": ("弹窗：身份核验不一致", "pop-up: identity check did not match"),
    "popup.no-data": ("弹窗：到过无数据地区", "pop-up: in a region with no data"),
}


def colour_label(colour: str | None) -> tuple[str, str]:
    if colour is None:
        return ("颜色未知", "colour unknown")
    return COLOUR.get(colour, (colour, colour))


def place_label(kind: str) -> tuple[str, str]:
    return PLACE_KIND.get(kind, (kind, kind))


def reason_label(code: str) -> tuple[str, str]:
    """(zh, en) for a reason code; legacy statuses and unknown codes are shown as they are."""
    if code in _REASONS:
        return _REASONS[code]
    if code.startswith("override."):
        found = REASONS.get(code[9:])
        if found is not None:
            return (f"人工赋码：{found.zh}", f"manual colour: {found.en}")
    if code.startswith("legacy.status-"):
        return (f"原系统状态 {code[14:]}", f"legacy status {code[14:]}")
    return (code, code)


# Decisions made before any policy: (zh, en).
INVALID = ("健康码无效", "the health code is not valid")
EXPIRED = ("健康码已过期，请刷新后重新出示", "expired — refresh your code")
UNRECOGNISED = ("无法识别的码，不是健康码", "not a recognised health code")
UNKNOWN_FORMAT_OFFLINE = (
    "离线状态下无法识别此码，请联网或人工核验",
    "this code cannot be recognised offline; go online or check by hand",
)
LEGACY_OFFLINE = (
    "该地区的旧版健康码只能联网核验",
    "this region's pre-standard code can only be checked online",
)
LEGACY_UNAVAILABLE = (
    "发码地区的系统暂时无法核验此码",
    "the issuing region's system cannot check this code right now",
)
ID_OFFLINE = ("证件号码查询需要联网", "a look-up by ID number needs the network")
ID_UNAVAILABLE = (
    "暂时无法向发码地区查询，请稍后再试或人工核验",
    "the holder's issuer cannot be asked right now; try again or check by hand",
)
NO_RECORD = ("未查到此证件的健康码记录", "no health code is on record for this document")
BAD_ID = ("证件号码无效，请核对后重新输入", "the ID number is not valid; check it and type again")
NO_TRUST = (
    "本机没有可信列表，无法离线核验",
    "no trust list on this device: codes cannot be verified offline",
)
UNKNOWN_KEY = (
    "签名密钥不在本机可信列表中（列表可能已过时），请人工核验",
    "signed by a key this device does not know (its lists may be out of date); check by hand",
)
NO_INTERNATIONAL = (
    "本机没有国际证书可信列表，无法核验此证书",
    "no international trust list on this device: this certificate cannot be verified",
)
TRAVEL_CODE = (
    "行程码（不是健康码，请另行核验健康码）",
    "travel code (not a health code: check one too)",
)
TRAVEL_INVALID = ("行程码无效", "the travel code is not valid")
TRAVEL_STAR = (
    "* 该城市目前有中高风险地区（不表示持码人到过该地区）",
    "* the city has a medium- or high-risk area now (not that the holder was in it)",
)
LISTS_TOO_OLD = (
    "本机可信列表过旧，不能离线判定",
    "this device's lists are too old for offline decisions",
)


def no_policy(region: str) -> tuple[str, str]:
    """No signed policies of ``region`` on this device: never fetched, so not known."""
    return (
        f"本机没有 {region} 的通行规则，无法判定；请联网刷新或人工核验",
        f"this device has no entry policy of {region}: it cannot decide; "
        "go online to fetch it or check by hand",
    )


# What went wrong between the checkpoint and the hub (zh, en); the URL follows.
CREDENTIAL_REFUSED = ("国家平台拒绝了本机的凭证", "credential refused by the hub")
HUB_UNREACHABLE = ("无法连接国家平台", "hub unreachable")
NOT_A_HUB = ("该地址不是国家平台", "that URL is not a hub")
UNTRUSTED_HUB = (
    "该地址的列表不是由本机信任的国家平台密钥签发的",
    "the lists there are not signed by a hub key this device trusts",
)
