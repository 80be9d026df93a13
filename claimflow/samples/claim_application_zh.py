"""A Chinese-language claim application form (理赔申请书) with made-up values that pass real checks.

Layout (the extractor spec is written from it): A4 portrait in WenQuanYi Micro Hei (Debian
fonts-wqy-microhei); the insurer's name (14 pt), the title 理赔申请书 (20 pt, with "CLAIM APPLICATION FORM"
under it on bilingual variants) and a rule; one row per field with the label at x=20 mm (10.5 pt) and the
value at x=80 mm (11 pt), rows 11 mm apart; 出险经过 may wrap to a second line; a declaration footer with the
form code CF-CN-01. Bilingual variants print labels as '保单号 Policy No.:'; the others as '保单号：'.
Values: the ID number (身份证号) carries its GB 11643 check digit, the bank card (开户行账号) its Luhn digit;
dates are printed 2026年3月5日 or 2026-03-05; the amount claimed appears in figures (¥12,345.60) and in
capital numerals (人民币壹万贰仟叁佰肆拾伍元陆角整), written here independently of the engine's parser.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF

from claimflow.samples.forms import CREATION_DATE, format_amount
from claimflow.samples.plan import money

FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT_INSTALL_HINT = "install the CJK font with: sudo apt-get install -y fonts-wqy-microhei"
FONT = "wqy"
INSURER = "明理财产保险股份有限公司"
TITLE = "理赔申请书"
SUBTITLE = "CLAIM APPLICATION FORM"
FORM_CODE = "CF-CN-01"
DECLARATION = "声明：本人保证以上所填内容真实无误。申请人签字：________"
LABEL_X_MM = 20.0
VALUE_X_MM = 80.0
FIRST_ROW_MM = 52.0
ROW_PITCH_MM = 11.0
WRAP_PITCH_MM = 6.0
VALUE_WIDTH_MM = 110.0
FOOTER_MM = 280.0

LABELS: tuple[tuple[str, str, str], ...] = (
    # canonical field, Chinese label, English part of the bilingual label
    ("policy_number", "保单号", "Policy No."),
    ("claim_number", "报案号", "Claim No."),
    ("claimant_name", "被保险人", "Insured"),
    ("id_number", "身份证号", "ID No."),
    ("phone", "联系电话", "Phone"),
    ("date_of_loss", "出险日期", "Date of Loss"),
    ("loss_type", "出险类型", "Type of Loss"),
    ("description", "出险经过", "Description"),
    ("amount_claimed", "申请金额（小写）", "Amount"),
    ("amount_in_words", "申请金额（大写）", "In Words"),
    ("currency", "币种", "Currency"),
    ("bank_name", "开户银行", "Bank"),
    ("payee_account", "开户行账号", "Account No."),
    ("signature_date", "申请日期", "Date"),
)
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "林", "何")
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建国", "晓东", "海燕", "志强", "文博", "子涵")
REGIONS = ("110105", "310104", "440106", "510104", "330106", "320106", "420106", "610113")
BANKS = (("中国工商银行", "622202"), ("中国建设银行", "621700"), ("中国农业银行", "622848"), ("中国银行", "621661"),
         ("招商银行", "622588"), ("交通银行", "622260"))
BRANCHES = ("北京朝阳支行", "上海浦东支行", "广州天河支行", "成都锦江支行", "杭州西湖支行", "南京鼓楼支行",
            "武汉江汉支行")
PLACES = ("北京市朝阳区建国路", "上海市浦东新区世纪大道", "广州市天河区天河路", "成都市锦江区春熙路",
          "杭州市西湖区文三路", "南京市鼓楼区中山路")
LOSS_TYPES = ("碰撞", "盗抢", "火灾", "玻璃破碎", "自然灾害", "划痕")
DESCRIPTIONS = {
    "碰撞": "车辆在{place}行驶时与前方车辆发生碰撞，前保险杠及大灯损坏。",
    "盗抢": "车辆停放在{place}时被盗，已向当地派出所报案。",
    "火灾": "车辆在{place}停放期间因线路故障起火，发动机舱烧毁。",
    "玻璃破碎": "车辆在{place}行驶时被飞石击中，前挡风玻璃破裂。",
    "自然灾害": "暴雨导致{place}路段积水，车辆被淹，发动机进水。",
    "划痕": "车辆停放在{place}时被他人划伤，左侧车门多处划痕。",
}
CURRENCY_STYLES = ("人民币", "CNY", "人民币（CNY）")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"


@dataclass(frozen=True, slots=True)
class ClaimApplication:
    """One filled-in 理赔申请书: the values and how this copy prints them."""

    policy_number: str
    claim_number: str
    claimant_name: str
    id_number: str
    phone: str
    date_of_loss: date
    loss_type: str
    description: str
    amount_claimed: Decimal
    currency_style: str
    bank_name: str
    payee_account: str
    signature_date: date
    bilingual: bool
    cjk_dates: bool
    amount_style: str  # "yen" (¥12,345.60) or "yuan" (12,345.60元)


def gb11643_check_digit(first17: str) -> str:
    """Return the GB 11643-1999 check character (0-9 or X) of the first 17 digits of a citizen ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def luhn_check_digit(body: str) -> str:
    """Return the Luhn check digit that completes the digits of `body`."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def capital_amount(amount: Decimal) -> str:
    """Return `amount` in Chinese capital numerals as written on financial forms (人民币 prefix excluded).

    壹万贰仟叁佰肆拾伍元陆角整; zero places collapse to one 零 (壹万零伍元整), 整 closes an amount without 分.
    """
    cents = int((amount * 100).to_integral_value())
    if cents < 0:
        raise ValueError("a capital amount cannot be negative")
    whole, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = _capital_whole(whole) + "元" if whole else ""
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += CAPITAL_DIGITS[jiao] + "角"
    elif whole:
        text += "零"
    if fen:
        text += CAPITAL_DIGITS[fen] + "分"
    else:
        text += "整"
    return text


def _capital_whole(number: int) -> str:
    """Return a positive integer in capital numerals with 拾佰仟 inside 万/亿 sections and one 零 per zero run."""
    if number >= 10**12:
        raise ValueError("capital amounts are written here up to 亿 sections (below 10^12)")
    sections: list[int] = []
    while number:
        sections.append(number % 10_000)
        number //= 10_000
    text = ""
    pending_zero = False
    for index in range(len(sections) - 1, -1, -1):
        section = sections[index]
        if section == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or section < 1000):
            text += "零"
        text += _capital_section(section) + ("", "万", "亿")[index]
        pending_zero = False
    return text


def _capital_section(number: int) -> str:
    """Return 1..9999 with 仟佰拾 units and 零 for inner zero runs (壹仟零伍拾)."""
    text = ""
    zero = False
    for unit, name in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = number // unit % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += CAPITAL_DIGITS[digit] + name
    return text


def make_application(rng: random.Random, index: int) -> ClaimApplication:
    """Return a made-up claim application drawn from `rng` (deterministic for a seeded generator)."""
    loss = date(2026, 1, 5) + timedelta(days=rng.randint(0, 280))
    birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 40 * 365))
    first17 = rng.choice(REGIONS) + birth.strftime("%Y%m%d") + f"{rng.randint(0, 999):03d}"
    bank, prefix = rng.choice(BANKS)
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(rng.choice((9, 12))))
    cents = rng.randint(80_000, 4_800_000)
    if rng.random() < 0.35:
        cents -= cents % 100  # whole yuan: 元整
    loss_type = rng.choice(LOSS_TYPES)
    return ClaimApplication(
        policy_number=f"PD{rng.choice('ABCZ')}{rng.choice('AZ')}2026{rng.randint(0, 99_999_999):08d}",
        claim_number=f"RD{rng.choice('ABCZ')}A2026{index:03d}{rng.randint(0, 99_999):05d}",
        claimant_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
        id_number=first17 + gb11643_check_digit(first17),
        phone=f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}",
        date_of_loss=loss,
        loss_type=loss_type,
        description=DESCRIPTIONS[loss_type].format(place=rng.choice(PLACES)),
        amount_claimed=money(Decimal(cents) / 100),
        currency_style=rng.choice(CURRENCY_STYLES),
        bank_name=bank + rng.choice(BRANCHES),
        payee_account=body + luhn_check_digit(body),
        signature_date=loss + timedelta(days=rng.randint(1, 20)),
        bilingual=rng.random() < 0.5,
        cjk_dates=rng.random() < 0.5,
        amount_style=rng.choice(("yen", "yen", "yuan")),
    )


def _date(value: date, cjk: bool) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if cjk else value.isoformat()


def _grouped(digits: str, size: int = 4) -> str:
    return " ".join(digits[i : i + size] for i in range(0, len(digits), size))


def printed_values(app: ClaimApplication) -> dict[str, str]:
    """Return each field's value exactly as printed on the form."""
    figures = format_amount(app.amount_claimed)
    return {
        "policy_number": app.policy_number,
        "claim_number": app.claim_number,
        "claimant_name": app.claimant_name,
        "id_number": app.id_number,
        "phone": f"{app.phone[:3]} {app.phone[3:7]} {app.phone[7:]}",
        "date_of_loss": _date(app.date_of_loss, app.cjk_dates),
        "loss_type": app.loss_type,
        "description": app.description,
        "amount_claimed": f"¥{figures}" if app.amount_style == "yen" else f"{figures}元",
        "amount_in_words": "人民币" + capital_amount(app.amount_claimed),
        "currency": app.currency_style,
        "bank_name": app.bank_name,
        "payee_account": _grouped(app.payee_account),
        "signature_date": _date(app.signature_date, app.cjk_dates),
    }


def truth_fields(app: ClaimApplication) -> dict[str, str]:
    """Return the canonical ground truth (ISO dates, plain amounts, identifiers without spaces)."""
    return {
        "policy_number": app.policy_number,
        "claim_number": app.claim_number,
        "claimant_name": app.claimant_name,
        "id_number": app.id_number,
        "phone": app.phone,
        "date_of_loss": app.date_of_loss.isoformat(),
        "loss_type": app.loss_type,
        "description": app.description,
        "amount_claimed": str(app.amount_claimed),
        "amount_in_words": str(app.amount_claimed),
        "currency": "CNY",
        "bank_name": app.bank_name,
        "payee_account": app.payee_account,
        "signature_date": app.signature_date.isoformat(),
    }


def markable_values(app: ClaimApplication) -> dict[str, str]:
    """Return the printed values a stamp or Latin handwriting may cover (ASCII only: the pens have no CJK glyphs)."""
    printed = printed_values(app)
    return {name: text for name, text in printed.items() if text.isascii()}


def new_pdf() -> FPDF:
    """Return an A4 fpdf2 document with the CJK font loaded; raise FileNotFoundError naming the package."""
    if not FONT_FILE.is_file():
        raise FileNotFoundError(f"{FONT_FILE} not found; {FONT_INSTALL_HINT}")
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_auto_page_break(False)
    pdf.set_title("理赔申请书")
    pdf.add_font(FONT, "", str(FONT_FILE), collection_font_number=0)
    return pdf


def label_text(canonical: str, bilingual: bool) -> str:
    """Return the printed label of a field: '保单号：' or '保单号 Policy No.:'."""
    chinese, english = next((zh, en) for name, zh, en in LABELS if name == canonical)
    return f"{chinese} {english}:" if bilingual else f"{chinese}："


NO_LINE_START = frozenset("。，、；：！？）」』》”’")
"""Closing marks Chinese typesetting never puts first on a line (禁则): they hang at the end of the line before."""


def _wrap(pdf: FPDF, text: str) -> list[str]:
    """Split Chinese text into lines that fit the value column (character by character, closing marks hang)."""
    lines, current = [], ""
    for char in text:
        if current and char not in NO_LINE_START and pdf.get_string_width(current + char) > VALUE_WIDTH_MM:
            lines.append(current)
            current = ""
        current += char
    return [*lines, current] if current else lines


def draw_application_page(pdf: FPDF, app: ClaimApplication) -> None:
    """Add one 理赔申请书 page for `app` to `pdf` (which must come from `new_pdf`)."""
    pdf.add_page()
    pdf.set_font(FONT, "", 14)
    pdf.text(LABEL_X_MM, 20, INSURER)
    pdf.set_font(FONT, "", 9)
    pdf.text(190 - pdf.get_string_width(FORM_CODE), 20, FORM_CODE)
    pdf.set_font(FONT, "", 20)
    pdf.text(105 - pdf.get_string_width(TITLE) / 2, 32, TITLE)
    if app.bilingual:
        pdf.set_font(FONT, "", 10)
        pdf.text(105 - pdf.get_string_width(SUBTITLE) / 2, 38.5, SUBTITLE)
    pdf.set_line_width(0.3)
    pdf.line(LABEL_X_MM, 42, 190, 42)
    values = printed_values(app)
    y = FIRST_ROW_MM
    for canonical, _, _ in LABELS:
        pdf.set_font(FONT, "", 10.5)
        pdf.text(LABEL_X_MM, y, label_text(canonical, app.bilingual))
        pdf.set_font(FONT, "", 11)
        lines = _wrap(pdf, values[canonical]) if canonical == "description" else [values[canonical]]
        for number, line in enumerate(lines):
            pdf.text(VALUE_X_MM, y + number * WRAP_PITCH_MM, line)
        y += ROW_PITCH_MM + WRAP_PITCH_MM * (len(lines) - 1)
    pdf.set_font(FONT, "", 9)
    pdf.text(LABEL_X_MM, FOOTER_MM, DECLARATION)


def render_application_pdf(app: ClaimApplication) -> bytes:
    """Return the text-PDF 理赔申请书 of `app` as bytes."""
    pdf = new_pdf()
    draw_application_page(pdf, app)
    return bytes(pdf.output())
