// What a checkpoint shows, in Chinese and English: the same words as verifier/texts.py (and the
// labels of verifier/policy.py), so that a decision made in the browser reads exactly as the
// hub's. tests/browser/test_checkpoint_logic.py compares them.
export const COLOUR = { green: ["绿码", "green"], yellow: ["黄码", "yellow"], red: ["红码", "red"] };
export const OUTCOME = {
  PASS: ["通行", "pass"],
  DENY: ["不予通行", "do not admit"],
  CHECK: ["人工核验", "check by hand"],
  MORE: ["请继续扫描下一部分", "scan the next part"],
};
export const DATE_OF_BIRTH = ["出生日期", "date of birth"];
export const PLACE_KIND = {
  any: ["所有场所", "any place"],
  transport: ["交通场站", "transport"],
  residential: ["居住小区", "residential estate"],
  hospital: ["医疗机构", "hospital"],
  school: ["学校", "school"],
  office: ["办公场所", "office"],
};
const REASONS = {
  "case.confirmed": ["确诊病例", "confirmed case"],
  "case.asymptomatic": ["无症状感染者", "asymptomatic infection"],
  "case.suspected": ["疑似病例", "suspected case"],
  "quarantine.active": ["正在隔离", "under quarantine"],
  "contact.close": ["密切接触者", "close contact"],
  "contact.secondary": ["次密切接触者", "secondary contact"],
  "test.positive": ["核酸检测阳性", "positive test"],
  "stay.high-risk": ["高风险地区停留", "stay in a high-risk area"],
  "stay.medium-risk": ["中风险地区停留", "stay in a medium-risk area"],
  "symptom.fever": ["申报发热", "declared fever"],
  "temperature.high": ["申报体温偏高", "declared high temperature"],
  "declaration.contact": ["申报接触病例", "declared contact with a case"],
};
export const UNKNOWN_FACTS = {
  colour: ["当前颜色（需联网查询）", "the current colour (needs the network)"],
  tests: ["核酸检测结果", "the test results"],
  stays: ["风险地区停留的时间", "when the risk-area stays were"],
  temperature: ["现场体温", "the temperature at the gate"],
};

export const colourLabel = (c) => (c == null ? ["颜色未知", "colour unknown"] : COLOUR[c] ?? [c, c]);
export const placeLabel = (k) => PLACE_KIND[k] ?? [k, k];
export function reasonLabel(code) {
  if (REASONS[code]) return REASONS[code];
  if (code.startsWith("legacy.status-")) return [`原系统状态 ${code.slice(14)}`, `legacy status ${code.slice(14)}`];
  return [code, code];
}

export const INVALID = ["健康码无效", "the health code is not valid"];
export const EXPIRED = ["健康码已过期，请刷新后重新出示", "expired — refresh your code"];
export const UNRECOGNISED = ["无法识别的码，不是健康码", "not a recognised health code"];
export const UNKNOWN_FORMAT_OFFLINE = [
  "离线状态下无法识别此码，请联网或人工核验",
  "this code cannot be recognised offline; go online or check by hand",
];
export const LEGACY_OFFLINE = ["该地区的旧版健康码只能联网核验", "this region's pre-standard code can only be checked online"];
export const LEGACY_UNAVAILABLE = [
  "发码地区的系统暂时无法核验此码",
  "the issuing region's system cannot check this code right now",
];
export const ID_OFFLINE = ["证件号码查询需要联网", "a look-up by ID number needs the network"];
export const ID_UNAVAILABLE = [
  "暂时无法向发码地区查询，请稍后再试或人工核验",
  "the holder's issuer cannot be asked right now; try again or check by hand",
];
export const NO_RECORD = ["未查到此证件的健康码记录", "no health code is on record for this document"];
export const BAD_ID = ["证件号码无效，请核对后重新输入", "the ID number is not valid; check it and type again"];
export const NO_TRUST = ["本机没有可信列表，无法离线核验", "no trust list on this device: codes cannot be verified offline"];
export const UNKNOWN_KEY = [
  "签名密钥不在本机可信列表中（列表可能已过时），请人工核验",
  "signed by a key this device does not know (its lists may be out of date); check by hand",
];
export const NO_INTERNATIONAL = [
  "本机没有国际证书可信列表，无法核验此证书",
  "no international trust list on this device: this certificate cannot be verified",
];
export const LISTS_TOO_OLD = ["本机可信列表过旧，不能离线判定", "this device's lists are too old for offline decisions"];
export const HUB_UNREACHABLE = ["无法连接国家平台", "hub unreachable"];
export const CREDENTIAL_REFUSED = ["国家平台拒绝了本机的凭证", "credential refused by the hub"];
export function noPolicy(region) {
  return [
    `本机没有 ${region} 的通行规则，无法判定；请联网刷新或人工核验`,
    `this device has no entry policy of ${region}: it cannot decide; go online to fetch it or check by hand`,
  ];
}
export const NEVER_SEEN = [
  "从未与国家平台对时，无法离线判定",
  "the hub's time has never been seen: offline decisions need one online refresh",
];
export function clockOff(driftSeconds) {
  const minutes = Math.floor(Math.abs(driftSeconds) / 60);
  const [zh, en] = driftSeconds > 0 ? ["快", "ahead of"] : ["慢", "behind"];
  return [
    `本机时钟比国家平台${zh}约 ${minutes} 分钟，不能离线判定；请校准时钟`,
    `the local clock is about ${minutes} min ${en} the hub's: no offline decisions until it is set right`,
  ];
}
