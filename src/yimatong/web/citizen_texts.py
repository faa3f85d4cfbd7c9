"""The citizen pages' words in Chinese and English (``citizen.`` keys)."""

from __future__ import annotations

from yimatong.web.i18n import add_texts

add_texts(
    {
        # sign-in
        "citizen.signin": {"zh": "登录", "en": "Sign in"},
        "citizen.phone": {"zh": "手机号码", "en": "Mobile phone number"},
        "citizen.phone_hint": {
            "zh": "我们会向这个号码发送 6 位验证码。",
            "en": "We send a six-digit one-time code to this number.",
        },
        "citizen.send_code": {"zh": "获取验证码", "en": "Send me a code"},
        "citizen.otp": {"zh": "验证码（6位数字）", "en": "One-time code (6 digits)"},
        "citizen.otp_hint": {
            "zh": "验证码已发送到您的手机，5 分钟内有效。",
            "en": "The code was sent to your phone; it is valid for 5 minutes.",
        },
        "citizen.other_phone": {"zh": "换一个号码", "en": "Use another number"},
        "citizen.wrong_code": {
            "zh": "验证码错误或已过期，请重试或重新获取。",
            "en": "The code is wrong or has expired: try again or ask for a new one.",
        },
        "citizen.too_many": {
            "zh": "尝试次数过多，请 {seconds} 秒后再试。（{detail}）",
            "en": "Too many tries: wait {seconds} seconds and try again. ({detail})",
        },
        "citizen.invalid": {"zh": "请检查输入：{detail}", "en": "Please check: {detail}"},
        "citizen.forbidden": {"zh": "不允许：{detail}", "en": "Not allowed: {detail}"},
        "citizen.failed": {"zh": "未能完成：{detail}", "en": "Could not be done: {detail}"},
        "citizen.not_found": {
            "zh": "您的账户中没有这个人。",
            "en": "There is no such person on your account.",
        },
        "citizen.wrong_role": {
            "zh": "此页面供市民使用。工作人员请前往管理页面，核验点请前往核验页面。",
            "en": "These pages are for citizens. Staff use the admin pages; checkpoints the "
            "checkpoint page.",
        },
        "citizen.to_admin": {"zh": "管理页面", "en": "Admin pages"},
        "citizen.to_checkpoint": {"zh": "核验页面", "en": "Checkpoint page"},
        # home
        "citizen.home": {"zh": "我的健康码", "en": "My health codes"},
        "citizen.people": {"zh": "本账户的人员", "en": "People on this account"},
        "citizen.none": {
            "zh": "还没有人。请先为自己申请健康码。",
            "en": "Nobody yet. Apply for your own code first.",
        },
        "citizen.self": {"zh": "本人", "en": "me"},
        "citizen.show_code": {"zh": "出示健康码", "en": "Show the code"},
        "citizen.details": {"zh": "详情与申报", "en": "Details and declarations"},
        "citizen.pending": {"zh": "等待对方同意", "en": "Waiting for their consent"},
        "citizen.pending_hint": {
            "zh": "此人已有健康码记录。我们已向其登记的手机发送验证码；请对方把验证码告诉您，"
            "或携带其证件到服务窗口办理。在此之前您看不到对方的任何信息。",
            "en": "This person already has a record. A code was sent to the phone on their "
            "record: ask them for it, or go with them and their document to a service counter. "
            "Until then you see nothing of their record.",
        },
        "citizen.pending_item": {
            "zh": "{relationship}：申请于 {created}，{expires} 前有效",
            "en": "{relationship}: asked {created}, open until {expires}",
        },
        "citizen.link_code": {"zh": "对方告诉您的验证码", "en": "The code they told you"},
        "citizen.confirm_link": {"zh": "确认关联", "en": "Confirm the link"},
        "citizen.withdraw": {"zh": "撤回申请", "en": "Withdraw"},
        "citizen.apply": {"zh": "申请健康码", "en": "Apply for a code"},
        "citizen.apply_for": {"zh": "为谁申请", "en": "For whom"},
        "citizen.for_self": {"zh": "为本人申请", "en": "For myself"},
        "citizen.for_relative": {"zh": "为家人代办", "en": "For a relative (代办)"},
        "citizen.relatives_full": {
            "zh": "一个账户最多为 4 位家人代办，已满。",
            "en": "An account acts for at most 4 relatives; yours is full.",
        },
        "citizen.name": {"zh": "姓名", "en": "Name"},
        "citizen.id_number": {"zh": "居民身份证号码", "en": "Resident ID number"},
        "citizen.relationship": {
            "zh": "与您的关系（代办时填写，如 父亲、母亲）",
            "en": "Relationship to you (for a relative, e.g. father, mother)",
        },
        "citizen.relative_phone": {
            "zh": "家人的手机号码（可不填）",
            "en": "The relative's phone (optional)",
        },
        "citizen.submit_apply": {"zh": "提交申请", "en": "Apply"},
        "citizen.done.linked": {
            "zh": "申请成功，已加入本账户。",
            "en": "Done: added to your account.",
        },
        "citizen.done.pending": {
            "zh": "此人已有记录，已向其手机发送同意验证码。",
            "en": "This person already has a record: a consent code was sent to their phone.",
        },
        "citizen.done.declared": {"zh": "申报已提交。", "en": "Declaration sent."},
        "citizen.done.itinerary": {"zh": "行程已添加。", "en": "Stay added."},
        "citizen.done.submitted": {"zh": "纠错申请已提交。", "en": "Correction submitted."},
        "citizen.done.corrected": {"zh": "纠错申请已提交。", "en": "Correction submitted."},
        # person
        "citizen.person": {"zh": "人员详情", "en": "Person"},
        "citizen.colour_now": {"zh": "当前颜色", "en": "Colour now"},
        "citizen.masked": {"zh": "姓名与证件（已脱敏）", "en": "Name and ID (masked)"},
        "citizen.consent": {"zh": "关联方式", "en": "Linked by"},
        "citizen.consent.registered": {"zh": "由本账户登记", "en": "registered by this account"},
        "citizen.consent.phone": {"zh": "手机号一致", "en": "the same phone"},
        "citizen.consent.sms": {"zh": "对方短信同意", "en": "their consent by SMS"},
        "citizen.consent.staff": {"zh": "窗口现场确认", "en": "confirmed at a counter"},
        "citizen.consent.unverified": {"zh": "未经确认", "en": "unverified"},
        "citizen.grants": {"zh": "您可查看", "en": "You may see"},
        "citizen.grants_proxy": {
            "zh": "健康码与颜色{extra}",
            "en": "the code and colour{extra}",
        },
        "citizen.grant.itinerary": {"zh": "、行程", "en": ", the itinerary"},
        "citizen.grant.tests": {"zh": "、核酸检测", "en": ", the tests"},
        "citizen.everything": {"zh": "全部信息", "en": "everything"},
        "citizen.declare": {"zh": "每日健康申报与行程", "en": "Daily declaration and travel"},
        "citizen.activity": {"zh": "谁查看了我的信息", "en": "Who saw my data"},
        "citizen.corrections": {"zh": "纠错", "en": "Corrections"},
        "citizen.card": {"zh": "打印健康码卡片", "en": "Print a code card"},
        "citizen.back_home": {"zh": "返回首页", "en": "Back to the start"},
        # my code
        "citizen.code": {"zh": "健康码", "en": "Health code"},
        "citizen.qr_label": {
            "zh": "{name}的健康码二维码，{colour}",
            "en": "QR code of {name}'s health code, {colour}",
        },
        "citizen.noscript": {
            "zh": "浏览器未启用脚本：下方是服务器生成的二维码，不会自动刷新，请刷新页面获取新码。",
            "en": "Scripts are off: below is a QR drawn by the server; it does not refresh "
            "by itself — reload the page for a new code.",
        },
        "citizen.clock": {"zh": "当前时间", "en": "Time now"},
        "citizen.refresh_note": {
            "zh": "每 {seconds} 秒自动更新，截图无效。",
            "en": "A new code every {seconds} seconds: a screenshot will not do.",
        },
        "citizen.expires": {"zh": "本码有效至 {at}", "en": "This code is valid until {at}"},
        "citizen.refresh_failed": {
            "zh": "未能更新健康码，请检查网络后刷新页面。",
            "en": "The code could not be refreshed: check the network and reload.",
        },
        "citizen.since": {"zh": "自 {at} 起", "en": "since {at}"},
        "citizen.hours_test": {
            "zh": "距上次核酸阴性采样 {hours} 小时",
            "en": "{hours} hours since the last negative test was sampled",
        },
        "citizen.no_test": {"zh": "暂无核酸阴性记录", "en": "no negative test on record"},
        "citizen.meaning": {"zh": "颜色的含义", "en": "What the colour means"},
        "citizen.meaning.green": {
            "zh": "绿码：未发现风险，可按当地规定正常通行。",
            "en": "Green: no risk found; you may pass as local rules allow.",
        },
        "citizen.meaning.yellow": {
            "zh": "黄码：存在一定风险，需按要求进行健康监测和核酸检测，出行受限。",
            "en": "Yellow: some risk; follow health monitoring and testing as asked; travel is "
            "restricted.",
        },
        "citizen.meaning.red": {
            "zh": "红码：存在较高风险，须按要求隔离并进行核酸检测。",
            "en": "Red: high risk; quarantine and testing as asked.",
        },
        "citizen.popup": {
            "zh": "弹窗：需人工核验",
            "en": "Pop-up: to be checked by a person",
        },
        "citizen.popup.identity-mismatch": {
            "zh": "公安部门核验您的姓名与证件不一致，健康状态无法确认。"
            "检查点工作人员会为您人工核验；请持本人身份证件到社区或公安窗口核验，核验一致后恢复。",
            "en": "The police found that your name does not match your document, so your "
            "status cannot be confirmed. At a checkpoint a member of staff will check you by "
            "hand; bring your identity document to a community or police office to have it "
            "checked: this clears once it matches.",
        },
        "citizen.popup.no-data": {
            "zh": "您 14 天内到过无数据地区，健康状态无法确定。检查点工作人员会为您人工核验；"
            "请做一次核酸检测，阴性结果报告后恢复。",
            "en": "You were in a region with no data within 14 days, so your status cannot be "
            "established. At a checkpoint a member of staff will check you by hand; take a "
            "nucleic-acid test: this clears once a negative result is reported.",
        },
        "citizen.reasons": {"zh": "原因", "en": "Reasons"},
        "citizen.no_reasons": {"zh": "无", "en": "none"},
        "citizen.travel": {"zh": "行程码", "en": "Travel code"},
        "citizen.travel_rule": {
            "zh": "近14天内停留4小时以上的城市。",
            "en": "Cities where you stayed at least 4 hours in the last 14 days.",
        },
        "citizen.travel_none": {"zh": "无", "en": "none"},
        "citizen.travel_withheld": {
            "zh": "此人未授权你查看行程。",
            "en": "This person has not let you see their itinerary.",
        },
        "citizen.travel_star": {
            "zh": "* 表示该城市目前有中高风险地区，并不表示你去过该地区。",
            "en": "* means the city has a medium- or high-risk area now, "
            "not that you were in that area.",
        },
        "citizen.travel_qr": {"zh": "出示行程码", "en": "Show the travel code"},
        "citizen.travel_qr_note": {
            "zh": "行程码与健康码分开核验，{at} 前有效，刷新页面获取新码。",
            "en": "Checked apart from the health code; valid until {at}; reload for a new one.",
        },
        "citizen.travel_level.medium": {"zh": "中风险", "en": "medium risk"},
        "citizen.travel_level.high": {"zh": "高风险", "en": "high risk"},
        "citizen.travel_source.self": {"zh": "本人申报", "en": "declared"},
        "citizen.travel_source.scan": {"zh": "场所扫码", "en": "checkpoint scan"},
        "citizen.travel_source.rail": {"zh": "铁路", "en": "rail"},
        "citizen.travel_source.aviation": {"zh": "民航", "en": "aviation"},
        "citizen.travel_source.telecom": {"zh": "电信", "en": "telecom"},
        "citizen.turns_green": {"zh": "如何转为绿码", "en": "What turns it green"},
        "citizen.turns_green_at": {"zh": "最早 {at}", "en": "at the earliest {at}"},
        # declaration and travel
        "citizen.declaration": {"zh": "健康申报", "en": "Health declaration"},
        "citizen.temperature": {"zh": "体温（°C）", "en": "Temperature (°C)"},
        "citizen.symptoms": {"zh": "症状（可多选）", "en": "Symptoms (any that apply)"},
        "citizen.symptom.fever": {"zh": "发热", "en": "fever"},
        "citizen.symptom.cough": {"zh": "咳嗽", "en": "cough"},
        "citizen.symptom.sore throat": {"zh": "咽痛", "en": "sore throat"},
        "citizen.symptom.fatigue": {"zh": "乏力", "en": "fatigue"},
        "citizen.symptom.loss of smell": {"zh": "嗅觉减退", "en": "loss of smell"},
        "citizen.contact": {
            "zh": "14 天内接触过确诊或疑似病例",
            "en": "In contact with a confirmed or suspected case in the last 14 days",
        },
        "citizen.residence": {
            "zh": "现居住地（街道/乡镇 9 位代码，或区县 6 位代码）",
            "en": "Where you live (9-digit street/township or 6-digit county code)",
        },
        "citizen.area_hint": {
            "zh": "例如 330106008（杭州市西湖区西湖街道）。",
            "en": "For example 330106008 (西湖街道, 西湖区, Hangzhou).",
        },
        "citizen.pick.province": {"zh": "省份", "en": "Province"},
        "citizen.pick.city": {"zh": "城市", "en": "City"},
        "citizen.pick.county": {"zh": "区县", "en": "County or district"},
        "citizen.pick.township": {"zh": "街道/乡镇", "en": "Street or township"},
        "citizen.pick.choose": {"zh": "请选择", "en": "Choose"},
        "citizen.submit_declare": {"zh": "提交申报", "en": "Declare"},
        "citizen.itinerary": {"zh": "添加行程", "en": "Add a stay"},
        "citizen.area": {
            "zh": "到访地区（街道/乡镇 9 位代码，或区县 6 位代码）",
            "en": "Area visited (9-digit street/township or 6-digit county code)",
        },
        "citizen.from": {"zh": "到达时间", "en": "Arrived"},
        "citizen.to": {"zh": "离开时间（可不填）", "en": "Left (optional)"},
        "citizen.submit_itinerary": {"zh": "添加", "en": "Add"},
        # activity
        "citizen.checks": {"zh": "谁核验了我的健康码", "en": "Who checked my code"},
        "citizen.checks_none": {"zh": "暂无核验记录。", "en": "No checks recorded."},
        "citizen.reads": {"zh": "哪些工作人员查看了我的信息", "en": "Which staff read my data"},
        "citizen.reads_none": {"zh": "暂无查看记录。", "en": "Nobody has read it."},
        "citizen.shared": {"zh": "其他地区共享的健康信息", "en": "Summaries from other regions"},
        "citizen.shared_none": {"zh": "暂无。", "en": "None."},
        "citizen.withheld": {
            "zh": "以下内容需本人授权，您无权查看：{what}",
            "en": "Withheld (the person has not granted it to you): {what}",
        },
        "citizen.withheld.checks": {"zh": "核验记录", "en": "checks"},
        "citizen.withheld.shared": {"zh": "其他地区的信息", "en": "other regions' summaries"},
        "citizen.withheld.reads": {"zh": "查看记录", "en": "reads"},
        "citizen.withheld.colours": {"zh": "颜色变化", "en": "colour changes"},
        "citizen.when": {"zh": "时间", "en": "When"},
        "citizen.where": {"zh": "地点", "en": "Where"},
        "citizen.role": {"zh": "身份", "en": "Role"},
        "citizen.reader": {"zh": "单位", "en": "Office"},
        "citizen.action": {"zh": "操作", "en": "Action"},
        "citizen.purpose": {"zh": "用途", "en": "Purpose"},
        "citizen.region": {"zh": "地区", "en": "Region"},
        "citizen.role.staff": {"zh": "工作人员", "en": "staff"},
        "citizen.role.admin": {"zh": "管理员", "en": "administrator"},
        "citizen.role.authority": {"zh": "卫生健康部门", "en": "health authority"},
        "citizen.role.node": {"zh": "平台节点", "en": "platform node"},
        "citizen.role.checkpoint": {"zh": "核验点", "en": "checkpoint"},
        "citizen.role.citizen": {"zh": "代办人", "en": "a proxy (代办)"},
        "citizen.role.anonymous": {"zh": "持码人出示", "en": "shown by the holder"},
        # corrections
        "citizen.correct": {"zh": "提交纠错", "en": "Ask for a correction"},
        "citizen.target": {"zh": "有误的记录", "en": "Which record is wrong"},
        "citizen.target_other": {"zh": "其他（请在说明中写明）", "en": "Something else (say what)"},
        "citizen.statement": {"zh": "说明", "en": "What is wrong"},
        "citizen.submit_correct": {"zh": "提交", "en": "Submit"},
        "citizen.my_corrections": {"zh": "我的纠错申请", "en": "My corrections"},
        "citizen.corrections_none": {"zh": "暂无。", "en": "None."},
        "citizen.number": {"zh": "编号", "en": "No."},
        "citizen.status": {"zh": "状态", "en": "Status"},
        "citizen.note": {"zh": "处理意见", "en": "Decision note"},
        "citizen.kind.itinerary": {"zh": "行程", "en": "itinerary"},
        "citizen.kind.other": {"zh": "其他", "en": "other"},
        "citizen.kind.override": {"zh": "人工赋码申诉", "en": "appeal against a manual colour"},
        "citizen.target_override": {"zh": "人工赋码 #{id}", "en": "Manual colour #{id}"},
        "citizen.appeal": {"zh": "申诉", "en": "Appeal"},
        "citizen.colours": {"zh": "颜色变化", "en": "Colour changes"},
        "citizen.colours_none": {"zh": "颜色从未变化。", "en": "Your colour has never changed."},
        "citizen.colour_change": {"zh": "变化", "en": "Change"},
        "citizen.because": {"zh": "依据", "en": "Because of"},
        "citizen.log_entry": {"zh": "公开日志第 {index} 条", "en": "public log entry {index}"},
        "citizen.log_pending": {"zh": "(待签名)", "en": "(not yet in a signed head)"},
        "citizen.status.pending": {"zh": "待处理", "en": "pending"},
        "citizen.status.accepted": {"zh": "已受理", "en": "accepted"},
        "citizen.status.rejected": {"zh": "未受理", "en": "rejected"},
        # card
        "citizen.card_title": {"zh": "健康码卡片", "en": "Health code card"},
        "citizen.card_hint": {
            "zh": "供没有智能手机的家人使用。卡片上的码长期有效，每次核验都会在线查询当前颜色。",
            "en": "For a relative without a smartphone. The printed code lasts; every check "
            "asks online for the current colour.",
        },
        "citizen.print": {"zh": "打印", "en": "Print"},
        "citizen.card_valid": {
            "zh": "签发于 {issued}，有效至 {expires}",
            "en": "Issued {issued}, valid until {expires}",
        },
        "citizen.card_qr": {"zh": "{name}的健康码卡片二维码", "en": "Card QR of {name}"},
    }
)
