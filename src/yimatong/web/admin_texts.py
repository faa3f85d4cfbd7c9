"""The admin pages' words, in Chinese (the default) and English (``add_texts`` at import)."""

from __future__ import annotations

from yimatong.web.i18n import add_texts

__all__: list[str] = []

add_texts(
    {
        # ------------------------------------------------------------- shared
        "admin.title": {"zh": "管理后台", "en": "Administration"},
        "admin.nav": {"zh": "管理后台导航", "en": "Administration"},
        "admin.home": {"zh": "后台首页", "en": "Admin home"},
        "admin.signed_in_as": {
            "zh": "当前凭证：{name}（{role}）",
            "en": "Signed in as {name} ({role})",
        },
        "admin.scope": {"zh": "管辖范围：{scope}", "en": "Scope: {scope}"},
        "admin.scope_all": {"zh": "全国", "en": "the whole country"},
        "admin.times": {
            "zh": "时间均为北京时间（UTC+8）。",
            "en": "Times are China time (UTC+8).",
        },
        "admin.role_needed": {
            "zh": "此页面需要以下角色之一：{roles}。请使用相应凭证登录。",
            "en": "This page needs one of the roles: {roles}. Sign in with such a credential.",
        },
        "admin.not_yours": {
            "zh": "您的凭证无权进行此操作：{detail}",
            "en": "Not allowed: {detail}",
        },
        "admin.invalid": {"zh": "输入有误：{detail}", "en": "Invalid input: {detail}"},
        "admin.failed": {"zh": "未能完成：{detail}", "en": "Could not be done: {detail}"},
        "admin.none": {"zh": "暂无", "en": "None"},
        "admin.back": {"zh": "返回", "en": "Back"},
        "admin.saved": {"zh": "已保存。", "en": "Saved."},
        "admin.open": {"zh": "打开", "en": "Open"},
        "admin.when": {"zh": "时间", "en": "When"},
        "admin.by": {"zh": "操作人", "en": "By"},
        "admin.version": {"zh": "版本", "en": "Version"},
        "admin.region": {"zh": "地区代码", "en": "Region code"},
        "admin.status": {"zh": "状态", "en": "Status"},
        "admin.role.admin": {"zh": "国家平台管理员", "en": "hub administrator"},
        "admin.role.authority": {"zh": "卫生健康部门", "en": "health authority"},
        "admin.role.staff": {"zh": "工作人员", "en": "staff"},
        "admin.section.areas": {"zh": "风险地区", "en": "Risk areas"},
        "admin.section.areas_hint": {
            "zh": "按名称或代码查找到街道（乡镇），查看并设定风险等级。",
            "en": "Find areas down to the street by name or code; see and set their risk level.",
        },
        "admin.section.policies": {"zh": "通行规则", "en": "Entry policies"},
        "admin.section.policies_hint": {
            "zh": "各地区各类场所的现行规则与历史版本；编辑并校验 CertLogic。",
            "en": "Each region's current rules per kind of place and their history; edit and "
            "validate CertLogic.",
        },
        "admin.section.simulate": {"zh": "规则模拟", "en": "Policy simulator"},
        "admin.section.simulate_hint": {
            "zh": "某个码在某地、某类场所、某一时刻能否通行？为什么？",
            "en": "Would this code pass at a region, a kind of place, a moment — and why?",
        },
        "admin.section.issuers": {
            "zh": "发码平台、密钥与撤销",
            "en": "Issuers, keys and revocations",
        },
        "admin.section.issuers_hint": {
            "zh": "信任列表中的发码平台及其公钥；撤销密钥；变更记录。",
            "en": "The issuers in the trust list and their keys; revoke a key; the change log.",
        },
        "admin.section.labs": {"zh": "检测机构", "en": "Laboratories"},
        "admin.section.labs_hint": {
            "zh": "已登记的核酸检测机构；以公钥登记新机构。",
            "en": "The registered testing labs; register a lab with its public key.",
        },
        "admin.section.dashboards": {"zh": "数据看板", "en": "Dashboards"},
        "admin.section.dashboards_hint": {
            "zh": "各地区赋码颜色、每小时扫码、各机构检测结果、各地区模式二调用。",
            "en": "Colours by region, scans per hour, results per lab, Mode 2 calls per region.",
        },
        "admin.section.corrections": {"zh": "纠错申请", "en": "Corrections"},
        "admin.section.corrections_hint": {
            "zh": "待处理的纠错申请：查看并受理或驳回（均记入审计日志）。",
            "en": "Pending corrections: read, then accept or reject (each is audited).",
        },
        "level.low": {"zh": "低风险", "en": "low risk"},
        "level.medium": {"zh": "中风险", "en": "medium risk"},
        "level.high": {"zh": "高风险", "en": "high risk"},
        "division.province": {"zh": "省级", "en": "province"},
        "division.city": {"zh": "地级", "en": "city"},
        "division.county": {"zh": "县级", "en": "county"},
        "division.township": {"zh": "乡镇/街道", "en": "township/street"},
        "place.any": {"zh": "所有场所", "en": "any place"},
        "place.transport": {"zh": "交通场站", "en": "transport"},
        "place.residential": {"zh": "居民小区", "en": "residential"},
        "place.hospital": {"zh": "医疗机构", "en": "hospital"},
        "place.school": {"zh": "学校", "en": "school"},
        "place.office": {"zh": "机关单位", "en": "office"},
        # ------------------------------------------------------------- risk areas
        "admin.areas.search": {"zh": "名称或代码", "en": "Name or code"},
        "admin.areas.search_hint": {
            "zh": "例如：西湖、330106、330106002（街道为 9 位代码）。",
            "en": "For example 西湖, 330106, 330106002 (streets have nine-digit codes).",
        },
        "admin.areas.find": {"zh": "查找", "en": "Search"},
        "admin.areas.found": {"zh": "找到 {n} 个地区", "en": "{n} areas found"},
        "admin.areas.nothing": {"zh": "没有找到符合的地区。", "en": "No area matches."},
        "admin.areas.code": {"zh": "代码", "en": "Code"},
        "admin.areas.name": {"zh": "名称", "en": "Name"},
        "admin.areas.division": {"zh": "级别", "en": "Division"},
        "admin.areas.level": {"zh": "当前风险等级", "en": "Level now"},
        "admin.areas.governed": {"zh": "由 {code} 的设定决定", "en": "set by {code}"},
        "admin.areas.set": {"zh": "设定风险等级", "en": "Set the risk level"},
        "admin.areas.set_level": {"zh": "风险等级", "en": "Level"},
        "admin.areas.from": {"zh": "生效时间（留空为立即）", "en": "From (empty: now)"},
        "admin.areas.to": {"zh": "结束时间（可留空）", "en": "Until (may be empty)"},
        "admin.areas.submit": {"zh": "设定", "en": "Set"},
        "admin.areas.done": {
            "zh": "已将 {name} 设为{level}（风险地区列表第 {version} 版）。",
            "en": "{name} is now {level} (risk-area list version {version}).",
        },
        "admin.areas.read_only": {
            "zh": "只有卫生健康部门（在其管辖范围内）可以设定风险等级。",
            "en": "Only a health authority, within its scope, can set risk levels.",
        },
        "admin.areas.timeline": {"zh": "等级变化", "en": "Level over time"},
        "admin.areas.periods": {"zh": "本地区的设定记录", "en": "Settings of this area"},
        "admin.areas.period_from": {"zh": "起", "en": "From"},
        "admin.areas.period_to": {"zh": "止", "en": "Until"},
        "admin.areas.source": {"zh": "依据", "en": "Set at"},
        "admin.areas.open_end": {"zh": "至今", "en": "open"},
        "admin.areas.superseded": {
            "zh": "已被后来的设定取代",
            "en": "superseded by a later setting",
        },
        # ------------------------------------------------------------- policies
        "admin.policies.region": {"zh": "地区代码", "en": "Region code"},
        "admin.policies.show": {"zh": "查看", "en": "Show"},
        "admin.policies.current": {
            "zh": "现行规则（含上级地区）",
            "en": "In force (with the regions above)",
        },
        "admin.policies.history": {"zh": "本地区历史版本", "en": "History of this region"},
        "admin.policies.place": {"zh": "场所类型", "en": "Kind of place"},
        "admin.policies.description": {"zh": "说明", "en": "Description"},
        "admin.policies.rule": {"zh": "规则（CertLogic）", "en": "Rule (CertLogic)"},
        "admin.policies.valid": {"zh": "有效期", "en": "In force"},
        "admin.policies.governed": {"zh": "适用：{regions}", "en": "Applies: {regions}"},
        "admin.policies.national_default": {
            "zh": "此地区及上级均无规则：适用全国默认规则（绿码通行）。",
            "en": "No policy here or above: the national default applies (a green code).",
        },
        "admin.policies.edit": {"zh": "编辑", "en": "Edit"},
        "admin.policies.new": {
            "zh": "为此地区新建或修改规则",
            "en": "New or changed rule for this region",
        },
        "admin.policies.editor": {"zh": "规则编辑器", "en": "Policy editor"},
        "admin.policies.rule_hint": {
            "zh": "JSON 格式的 CertLogic 表达式；可用的事实见 docs/policies.md（例如 code.colour、"
            "scan.temperature_decidegrees）。",
            "en": "A CertLogic expression as JSON; the facts it may read are in docs/policies.md "
            "(code.colour, scan.temperature_decidegrees …).",
        },
        "admin.policies.from": {"zh": "生效时间（留空为立即）", "en": "Valid from (empty: now)"},
        "admin.policies.to": {"zh": "失效时间（可留空）", "en": "Valid to (may be empty)"},
        "admin.policies.check": {"zh": "校验", "en": "Validate"},
        "admin.policies.save": {"zh": "校验并保存", "en": "Validate and save"},
        "admin.policies.ok": {
            "zh": "规则有效：符合 CertLogic 规范，且只读取已知事实。",
            "en": "The rule is valid CertLogic and reads only known facts.",
        },
        "admin.policies.refused": {"zh": "规则未保存：{detail}", "en": "Not saved: {detail}"},
        "admin.policies.not_json": {
            "zh": "规则不是有效的 JSON（第 {line} 行第 {col} 列）：{msg}",
            "en": "The rule is not valid JSON (line {line}, column {col}): {msg}",
        },
        "admin.policies.saved": {
            "zh": "已保存为第 {version} 版，立即生效。",
            "en": "Saved as version {version}.",
        },
        "admin.policies.read_only": {
            "zh": "只有卫生健康部门（在其管辖范围内）可以修改通行规则。",
            "en": "Only a health authority, within its scope, can change entry policies.",
        },
        # ------------------------------------------------------------- simulator
        "admin.sim.code": {"zh": "健康码（粘贴码串）", "en": "Health code (paste the code)"},
        "admin.sim.or": {"zh": "或", "en": "or"},
        "admin.sim.id_number": {"zh": "证件号码（居民身份证）", "en": "ID number (resident ID)"},
        "admin.sim.id_hint": {
            "zh": "按证件号码查询会记入审计日志，并计入本凭证的查询次数限制。",
            "en": "A look-up by ID number is audited and counts against this credential's limit.",
        },
        "admin.sim.region": {"zh": "所在地区代码", "en": "Region code of the place"},
        "admin.sim.place": {"zh": "场所类型", "en": "Kind of place"},
        "admin.sim.temperature": {
            "zh": "体温（°C，可留空）",
            "en": "Temperature (°C, may be empty)",
        },
        "admin.sim.at": {"zh": "时间（留空为现在）", "en": "Time (empty: now)"},
        "admin.sim.run": {"zh": "模拟", "en": "Simulate"},
        "admin.sim.result": {"zh": "模拟结果", "en": "Result"},
        "admin.sim.not_recorded": {
            "zh": "这只是模拟：不会记录为扫码，也不计入模式二调用。",
            "en": "Only a simulation: nothing is recorded as a scan or counted as a Mode 2 call.",
        },
        "admin.sim.outcome.PASS": {"zh": "通行", "en": "PASS"},
        "admin.sim.outcome.DENY": {"zh": "不予通行", "en": "DENY"},
        "admin.sim.outcome.CHECK": {"zh": "需人工核验", "en": "CHECK"},
        "admin.sim.reasons": {"zh": "原因", "en": "Why"},
        "admin.sim.policy": {"zh": "决定的规则", "en": "The policy that decided"},
        "admin.sim.policy_default": {
            "zh": "全国默认规则（绿码）",
            "en": "the national default (green)",
        },
        "admin.sim.holder": {"zh": "持码人", "en": "Holder"},
        "admin.sim.colour": {"zh": "当前颜色", "en": "Colour now"},
        "admin.sim.source": {"zh": "状态来源", "en": "Status from"},
        "admin.sim.source.online": {"zh": "发码平台实时状态", "en": "the issuer, just now"},
        "admin.sim.source.summary": {"zh": "模式一共享摘要", "en": "a Mode 1 summary"},
        "admin.sim.source.claims": {"zh": "码内签名信息", "en": "the code's signed claims"},
        "admin.sim.issuer": {"zh": "发码地区", "en": "Issuer"},
        # ------------------------------------------------------------- issuers
        "admin.issuers.list": {"zh": "发码平台", "en": "Issuers"},
        "admin.issuers.name": {"zh": "名称", "en": "Name"},
        "admin.issuers.kind": {"zh": "类型", "en": "Kind"},
        "admin.issuers.endpoint": {"zh": "接口地址", "en": "Endpoint"},
        "admin.issuers.keys": {"zh": "公钥", "en": "Keys"},
        "admin.issuers.kid": {"zh": "密钥标识（kid）", "en": "Key id (kid)"},
        "admin.issuers.alg": {"zh": "算法", "en": "Algorithm"},
        "admin.issuers.window": {"zh": "有效期", "en": "Valid"},
        "admin.issuers.revoked": {"zh": "已于 {when} 撤销", "en": "revoked {when}"},
        "admin.issuers.active": {"zh": "有效", "en": "active"},
        "admin.issuers.revoke": {"zh": "撤销", "en": "Revoke"},
        "admin.issuers.revoke_key": {
            "zh": "撤销 {region} 的密钥 {kid}",
            "en": "Revoke key {kid} of {region}",
        },
        "admin.issuers.confirm_title": {"zh": "确认撤销密钥", "en": "Confirm the revocation"},
        "admin.issuers.confirm_text": {
            "zh": "撤销后，由此密钥签发的所有健康码（包括打印的码）将在下一版信任列表中失效，"
            "且无法恢复。确定要撤销 {name}（{region}）的密钥 {kid} 吗？",
            "en": "Once revoked, every code signed by this key — printed cards too — fails from "
            "the next trust-list version, and this cannot be undone. Revoke key {kid} of "
            "{name} ({region})?",
        },
        "admin.issuers.confirm": {"zh": "确认撤销", "en": "Yes, revoke it"},
        "admin.issuers.cancel": {"zh": "取消", "en": "Cancel"},
        "admin.issuers.done": {
            "zh": "密钥 {kid} 已撤销（信任列表第 {version} 版）。",
            "en": "Key {kid} is revoked (trust list version {version}).",
        },
        "admin.issuers.changes": {"zh": "变更记录（最新在前）", "en": "Change log (newest first)"},
        "admin.issuers.action": {"zh": "变更", "en": "Change"},
        "admin.issuers.trust_version": {
            "zh": "信任列表版本 {version}",
            "en": "Trust list version {version}",
        },
        # ------------------------------------------------------------- labs
        "admin.labs.list": {"zh": "已登记的检测机构", "en": "Registered labs"},
        "admin.labs.id": {"zh": "机构编号", "en": "Lab id"},
        "admin.labs.name": {"zh": "机构名称", "en": "Name"},
        "admin.labs.region": {"zh": "所在地区代码", "en": "Region code"},
        "admin.labs.key": {
            "zh": "公钥（Base64 DER SubjectPublicKeyInfo）",
            "en": "Public key (base64 DER SubjectPublicKeyInfo)",
        },
        "admin.labs.key_hint": {
            "zh": "密钥对由检测机构自己生成（例如 openssl genpkey -algorithm ed25519），"
            "私钥不离开机构；"
            "机构用它签名每一批检测结果，国家平台只保存公钥。也可用命令 yimatong labs add。",
            "en": "The lab makes its own key pair (openssl genpkey -algorithm ed25519, say) and "
            "keeps the private key; it signs every batch of results with it, and the hub keeps "
            "only the public key. `yimatong labs add` does the same from a shell.",
        },
        "admin.labs.register": {"zh": "登记检测机构", "en": "Register a lab"},
        "admin.labs.created": {"zh": "检测机构 {lab} 已登记", "en": "Lab {lab} is registered"},
        "admin.labs.credential": {
            "zh": "这是该机构的上传凭证，只显示这一次，请立即通过安全渠道交给该机构：",
            "en": "This is the lab's upload credential. It is shown only this once: hand it to "
            "the lab over a safe channel now.",
        },
        # ------------------------------------------------------------- dashboards
        "admin.dash.colours": {
            "zh": "各地区赋码颜色（模式一共享摘要，按日）",
            "en": "Colours by region (Mode 1 summaries, per day)",
        },
        "admin.dash.scans": {
            "zh": "每小时扫码（国家平台收到的扫码记录）",
            "en": "Scans per hour (received by the hub)",
        },
        "admin.dash.results": {
            "zh": "各检测机构的检测结果（按日）",
            "en": "Results per lab (per day)",
        },
        "admin.dash.mode2": {
            "zh": "各地区模式二调用（按小时）",
            "en": "Mode 2 calls per region (per hour)",
        },
        "admin.dash.loading": {"zh": "正在加载…", "en": "Loading…"},
        "admin.dash.empty": {"zh": "此时段暂无数据。", "en": "No data in this period."},
        "admin.dash.failed": {"zh": "数据未能加载。", "en": "The figures could not be loaded."},
        "admin.dash.total": {"zh": "合计 {n}", "en": "Total {n}"},
        "admin.dash.table": {"zh": "数据表", "en": "The figures as a table"},
        "admin.dash.series": {"zh": "系列", "en": "Series"},
        "admin.dash.sum": {"zh": "合计", "en": "Total"},
        "admin.dash.noscript": {
            "zh": "图表需要启用 JavaScript；数据也可通过 /v1/stats/… 接口获取。",
            "en": "The charts need JavaScript; the figures are also at /v1/stats/….",
        },
        "admin.dash.counts_only": {
            "zh": "仅为计数，不含任何个人信息。",
            "en": "Counts only: no one's data.",
        },
        "admin.dash.convert": {"zh": "转码", "en": "conversions"},
        "admin.dash.refused": {"zh": "无效码", "en": "refused codes"},
        "admin.dash.verify": {"zh": "验码", "en": "verifications"},
        "admin.dash.outcome.negative": {"zh": "阴性", "en": "negative"},
        "admin.dash.outcome.positive": {"zh": "阳性", "en": "positive"},
        # ------------------------------------------------------------- corrections
        "admin.corr.queue": {"zh": "待处理的纠错申请", "en": "Pending corrections"},
        "admin.corr.audited": {
            "zh": "查看列表和申请内容都会记入审计日志，当事人可以看到。",
            "en": "Opening the list and each request is audited; the person can see it.",
        },
        "admin.corr.id": {"zh": "编号", "en": "No."},
        "admin.corr.kind": {"zh": "类型", "en": "Kind"},
        "admin.corr.kind.itinerary": {"zh": "行程记录", "en": "itinerary record"},
        "admin.corr.kind.other": {"zh": "其他", "en": "other"},
        "admin.corr.kind.override": {"zh": "人工赋码申诉", "en": "appeal against a manual colour"},
        "admin.section.overrides": {"zh": "人工赋码", "en": "Manual colours"},
        "admin.ovr.title": {"zh": "人工赋码（四眼原则）", "en": "Manual colours (four eyes)"},
        "admin.ovr.rules": {
            "zh": "人工赋码须写明流行病学原因、每人所依据的已记录事实（事实种类与全国数据序号）"
            "和截止时间，并由另一名卫生健康部门人员批准；每小时人数超过限额时还须国家平台批准。"
            "生效后记入公开日志。",
            "en": "A manual colour names an epidemic reason, for each person the recorded"
            " fact it rests on (its kind and national feed seq) and an end, and needs a second"
            " member of the health authority to approve; above the hourly limit the hub must"
            " approve too. Once in force it is in the public log.",
        },
        "admin.ovr.colour": {"zh": "颜色", "en": "Colour"},
        "admin.ovr.reason": {"zh": "原因", "en": "Reason"},
        "admin.ovr.people": {"zh": "人数", "en": "People"},
        "admin.ovr.asked": {"zh": "申请", "en": "Asked by"},
        "admin.ovr.ends": {"zh": "截止时间", "en": "Ends"},
        "admin.ovr.decide": {"zh": "处理", "en": "Decide"},
        "admin.ovr.status.pending": {"zh": "待批准", "en": "waiting for a second approval"},
        "admin.ovr.status.awaiting_hub": {"zh": "待国家平台批准", "en": "waiting for the hub"},
        "admin.ovr.status.active": {"zh": "已生效", "en": "in force"},
        "admin.ovr.status.refused": {"zh": "已拒绝", "en": "refused"},
        "admin.ovr.status.withdrawn": {"zh": "已撤回", "en": "withdrawn"},
        "admin.ovr.logged": {"zh": "公开日志第 {index} 条", "en": "public log entry {index}"},
        "admin.ovr.approve": {"zh": "批准", "en": "Approve"},
        "admin.ovr.refuse": {"zh": "拒绝 / 撤回", "en": "Refuse / withdraw"},
        "admin.ovr.refuse_note": {"zh": "拒绝理由", "en": "Why refused"},
        "admin.ovr.hub_request": {
            "zh": "请国家平台批准以下内容，并粘贴其签名的批准书：",
            "en": "Ask the hub to approve this, and paste its signed approval:",
        },
        "admin.ovr.hub": {"zh": "提交国家平台批准书", "en": "Submit the hub's approval"},
        "admin.ovr.ask": {"zh": "申请人工赋码", "en": "Ask for a manual colour"},
        "admin.ovr.note": {"zh": "说明", "en": "Note"},
        "admin.ovr.people_lines": {
            "zh": "人员：每行一人，写假名编号、事实种类、事实序号（如 3f…a1 contact 1024）",
            "en": "People: one per line, the pseudonym, the fact's kind and its seq"
            " (e.g. 3f…a1 contact 1024)",
        },
        "admin.ovr.submit": {"zh": "提交申请", "en": "Ask"},
        "admin.ovr.done": {"zh": "人工赋码 {id} 已更新。", "en": "Manual colour {id} updated."},
        "admin.corr.created": {"zh": "提交时间", "en": "Submitted"},
        "admin.corr.status.pending": {"zh": "待处理", "en": "pending"},
        "admin.corr.status.accepted": {"zh": "已受理", "en": "accepted"},
        "admin.corr.status.rejected": {"zh": "已驳回", "en": "rejected"},
        "admin.corr.title": {"zh": "纠错申请 {id}", "en": "Correction {id}"},
        "admin.corr.statement": {"zh": "申请人陈述", "en": "Statement"},
        "admin.corr.target": {"zh": "所涉行程记录编号", "en": "Itinerary record disputed"},
        "admin.corr.note": {
            "zh": "处理意见（必填，申请人可见）",
            "en": "Note (required; the person sees it)",
        },
        "admin.corr.accept": {"zh": "受理（更正记录）", "en": "Accept (correct the record)"},
        "admin.corr.reject": {"zh": "驳回", "en": "Reject"},
        "admin.corr.accept_hint": {
            "zh": "受理行程纠错会作废该行程记录，并立即重新评估赋码颜色。",
            "en": "Accepting an itinerary correction voids that record and reassesses the "
            "colour at once.",
        },
        "admin.corr.decided": {
            "zh": "纠错申请 {id}：{status}。",
            "en": "Correction {id} is {status}.",
        },
        "admin.corr.decision": {"zh": "处理结果", "en": "Decision"},
        # ------------------------------------------------------- the hub's door
        "hub.home.title": {"zh": "国家平台", "en": "National hub"},
        "hub.home.about": {
            "zh": "各地健康码在此互认：信任列表、全国风险区域与入境政策、跨地区验码。",
            "en": "Where every region's health code is recognised: the trust list, national "
            "risk areas and entry policies, verification across regions.",
        },
        "hub.home.admin": {"zh": "管理后台", "en": "Administration"},
        "hub.home.admin_hint": {
            "zh": "风险区域、入境政策、发码机构、检测机构、统计图表（需凭证）",
            "en": "risk areas, entry policies, issuers, labs, dashboards (credential needed)",
        },
        "hub.home.checkpoint": {"zh": "核验点", "en": "Checkpoint"},
        "hub.home.checkpoint_hint": {
            "zh": "扫码核验，离线也能判定（需核验点凭证）",
            "en": "scan codes, decides offline too (checkpoint credential needed)",
        },
        "hub.home.hosted": {"zh": "{name}居民服务", "en": "{name}: residents' pages"},
        "hub.home.hosted_hint": {
            "zh": "本平台代为发码的地区（模式三）",
            "en": "a region this hub issues codes for (Mode 3)",
        },
        "hub.home.docs": {"zh": "API 文档", "en": "API documentation"},
    }
)
