"""The sample packet's plan: every motor claim, its policy, its invoice and its expected route.

Everything random is drawn here from one seeded `random.Random`, so the document writers only lay out
values they are given and the ground truth is computed from the same plan. The scenario table fixes
which claims break which business rule; the data around them (names, amounts, dates) varies with the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from claimflow.samples.identifiers import make_iban, make_registration

CENT = Decimal("0.01")
SMALL_CLAIM_MAX = Decimal("5000")

LOSS_TYPES = ("collision", "theft", "fire", "vandalism", "glass", "weather")
WAITING_PERIOD_DAYS = 14

FIRST_NAMES = (
    "Zoë", "Liam", "Amélie", "Jonas", "Siobhan", "Mateo", "Ingrid", "Kwame", "Léa", "Tomasz", "Priya",
    "Søren", "Chloé", "Hamza", "Ana", "Björn", "Fatima", "Luca", "Noémie", "Declan", "Yusuf", "Marta",
)
LAST_NAMES = (
    "Müller", "O'Brien", "Dubois", "van der Berg", "Rossi", "Kowalski", "García", "Schäfer", "Murphy",
    "Lefèvre", "Jansen", "Nuñez", "Okafor", "Lindqvist", "D'Angelo", "Brennan", "Çelik", "Moreau",
)

DESCRIPTIONS = {
    "collision": (
        "Rear-ended at a red light on the ring road; rear bumper and boot lid damaged.",
        "Side impact at a roundabout when another driver failed to give way. Driver door and wing dented.",
        "Reversed into a bollard in a supermarket car park.",
    ),
    "theft": (
        "Catalytic converter stolen overnight while parked outside the home address.",
        "Vehicle broken into and the stereo and sat-nav unit were taken. Passenger window smashed.",
    ),
    "fire": (
        "Engine bay fire after an electrical fault on the motorway; bonnet and wiring loom burnt.",
        "Fire spread from a neighbouring bin store and scorched the front of the car.",
    ),
    "vandalism": (
        "Paintwork keyed along both sides while parked in the street.",
        "All four tyres slashed and wing mirrors kicked off during the night.",
    ),
    "glass": (
        "Windscreen cracked by a stone thrown up by a lorry.",
        "Rear window shattered by a falling branch.",
    ),
    "weather": (
        "Hailstorm dented the roof and bonnet while the car was parked at work.",
        "Flash flooding entered the cabin; carpets and seat electrics need replacing.",
    ),
}

GARAGES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "DE": (
        ("Autohaus Keller GmbH", ("Industriestraße 14", "76131 Karlsruhe", "Germany")),
        ("Kfz-Werkstatt Özdemir", ("Lindenallee 5", "50667 Köln", "Germany")),
    ),
    "FR": (
        ("Garage du Centre SARL", ("12 rue des Ateliers", "69007 Lyon", "France")),
        ("Carrosserie Lefort & Fils", ("3 avenue Jean Jaurès", "33000 Bordeaux", "France")),
    ),
    "NL": (
        ("Van Dijk Autoschade B.V.", ("Havenweg 3", "3542 AD Utrecht", "Netherlands")),
        ("Garage De Wit", ("Kanaalstraat 118", "1054 XK Amsterdam", "Netherlands")),
    ),
    "GB": (
        ("Brennan & Sons Motor Repairs", ("Unit 4, Millfield Estate", "Leeds LS11 5QT", "United Kingdom")),
        ("QuickFix Body Shop Ltd", ("88 Station Road", "Bristol BS1 6QF", "United Kingdom")),
    ),
    "IT": (
        ("Carrozzeria Bianchi S.r.l.", ("Via dell'Industria 27", "20141 Milano", "Italy")),
        ("Autofficina Ferri", ("Corso Francia 210", "10143 Torino", "Italy")),
    ),
}

REPAIR_ITEMS = {
    "collision": ("Bumper assembly", "Panel beating", "Paint and lacquer", "Labour (hours)", "Sensor calibration"),
    "theft": ("Catalytic converter", "Window glass", "Head unit", "Labour (hours)", "Lock barrel set"),
    "fire": ("Wiring loom", "Bonnet panel", "Fuse box", "Labour (hours)", "Cleaning and deodorising"),
    "vandalism": ("Paint and lacquer", "Wing mirror unit", "Tyre 205/55 R16", "Labour (hours)", "Polishing"),
    "glass": ("Windscreen", "Rear window glass", "Adhesive kit", "Labour (hours)", "Camera recalibration"),
    "weather": ("Roof panel repair", "Dent removal", "Carpet set", "Labour (hours)", "Seat control module"),
}

VAT_RATES = {"DE": Decimal("19"), "FR": Decimal("20"), "NL": Decimal("21"), "GB": Decimal("20"), "IT": Decimal("22")}

# (form variant, scenario) per motor claim, in claim-number order. 13 of 22 settle (59%).
SCENARIOS: tuple[tuple[str, str], ...] = (
    ("text_pdf", "settle"),
    ("text_pdf", "settle"),
    ("text_pdf", "policy_lapsed"),
    ("text_pdf", "settle"),
    ("text_pdf", "invoice_missing"),
    ("text_pdf", "settle"),
    ("text_pdf", "invoice_mismatch"),
    ("text_pdf", "large_claim"),
    ("text_pdf", "settle"),
    ("text_pdf", "loss_after_cover"),
    ("text_pdf", "settle"),
    ("text_pdf", "below_deductible"),
    ("acroform", "settle"),
    ("acroform", "invoice_missing"),
    ("scan_png", "settle"),
    ("scan_png", "policy_not_found"),
    ("scan_jpg", "settle"),
    ("scan_jpg", "large_claim"),
    ("scan_tif", "settle"),
    ("scan_pdf", "settle"),
    ("scan_pdf", "settle"),
    ("scan_pdf_with_invoice", "settle"),
)


@dataclass(frozen=True, slots=True)
class Policy:
    """One row of the policy register."""

    number: str
    holder: str
    product: str
    start: date
    end: date
    limit: Decimal
    deductible: Decimal
    currency: str
    status: str
    covered_losses: tuple[str, ...] = ("all risks",)
    waiting_period_days: int = 0


@dataclass(frozen=True, slots=True)
class LineItem:
    """One invoice line: description, quantity, unit price and line amount (qty x unit price)."""

    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Invoice:
    """A repair invoice for one motor claim."""

    issuer: str
    address: tuple[str, ...]
    number: str
    issue_date: date
    claim_reference: str
    items: tuple[LineItem, ...]
    subtotal: Decimal
    vat_rate: Decimal
    tax: Decimal
    total: Decimal
    currency: str
    layout: str


@dataclass(frozen=True, slots=True)
class MotorClaim:
    """One motor claim: the form's values, how the form is delivered, its invoice and its scenario."""

    claim_number: str
    policy_number: str
    claimant_name: str
    date_of_loss: date
    loss_type: str
    vehicle_registration: str
    amount_claimed: Decimal
    currency: str
    payee_iban: str
    description: str
    signature_date: date
    variant: str
    scenario: str
    invoice: Invoice | None


@dataclass(frozen=True, slots=True)
class Expectation:
    """The route a motor claim must get under the business rules, with the payout when it settles."""

    claim_number: str
    policy_number: str
    route: str
    payout: Decimal | None
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the packet writers need: claims, their policies and the expected outcomes."""

    claims: tuple[MotorClaim, ...]
    policies: tuple[Policy, ...]
    expectations: tuple[Expectation, ...]


def money(value: Decimal) -> Decimal:
    """Round to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def make_name(rng: random.Random) -> str:
    """Return a made-up full name."""
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _amount_for(rng: random.Random, scenario: str) -> Decimal:
    if scenario == "large_claim":
        cents = rng.randint(520_000, 950_000)
    elif scenario == "below_deductible":
        cents = rng.randint(18_000, 24_000)
    else:
        cents = rng.randint(45_000, 480_000)
    return money(Decimal(cents) / 100)


def _line_items(rng: random.Random, loss_type: str, subtotal: Decimal) -> tuple[LineItem, ...]:
    names = list(REPAIR_ITEMS[loss_type])
    rng.shuffle(names)
    count = rng.randint(2, 4)
    items: list[LineItem] = []
    remaining = subtotal
    for name in names[: count - 1]:
        quantity = rng.randint(1, 3)
        unit = money(subtotal * Decimal(rng.randint(8, 22)) / 100 / quantity)
        items.append(LineItem(name, quantity, unit, unit * quantity))
        remaining -= unit * quantity
    items.append(LineItem(names[count - 1], 1, remaining, remaining))
    return tuple(items)


def make_invoice(rng: random.Random, claim_number: str, loss_type: str, loss: date, total: Decimal,
                 currency: str, country: str, number: int, layout: str) -> Invoice:
    """Return an invoice whose total (VAT included) is exactly `total`."""
    issuer, address = rng.choice(GARAGES[country])
    vat_rate = VAT_RATES[country]
    subtotal = money(total * 100 / (100 + vat_rate))
    tax = total - subtotal
    items = _line_items(rng, loss_type, subtotal)
    return Invoice(
        issuer=issuer, address=address, number=f"INV-{number}", issue_date=loss + timedelta(days=rng.randint(1, 12)),
        claim_reference=claim_number, items=items, subtotal=subtotal, vat_rate=vat_rate, tax=tax, total=total,
        currency=currency, layout=layout,
    )


def _policy_for(rng: random.Random, number: str, holder: str, loss: date, currency: str, scenario: str) -> Policy:
    start = date(loss.year, rng.randint(1, 1 + max(0, loss.month - 2)), 1)
    end = date(start.year + 1, start.month, 1) - timedelta(days=1)
    status = "lapsed" if scenario == "policy_lapsed" else "active"
    if scenario == "loss_after_cover":
        start = date(loss.year - 1, 1, 1)
        end = loss - timedelta(days=rng.randint(20, 60))
    deductible = Decimal(50 * rng.randint(0, 6))
    if scenario == "below_deductible":
        deductible = Decimal(50 * rng.randint(6, 10))
    limit = Decimal(1000 * rng.randint(5, 50))
    waiting = WAITING_PERIOD_DAYS if (loss - start).days >= WAITING_PERIOD_DAYS else 0  # no rng: the packet stays put
    return Policy(number, holder, "Motor Private", start, end, limit, deductible, currency, status,
                  LOSS_TYPES, waiting)


def make_claim(rng: random.Random, index: int, variant: str, scenario: str,
               name: str) -> tuple[MotorClaim, Policy]:
    """Return one motor claim and the policy it claims under (for a missing policy: the one not registered)."""
    country = rng.choice(("DE", "FR", "NL", "IT", "GB", "DE", "FR", "NL", "GB"))
    currency = "GBP" if country == "GB" else "EUR"
    loss = date(2026, 1, 5) + timedelta(days=rng.randint(0, 295))
    loss_type = rng.choice(LOSS_TYPES)
    claim_number = f"CLM-2026-{rng.randint(100, 999) * 1000 + index:06d}"
    year = loss.year - 1 if scenario == "loss_after_cover" else loss.year
    policy_number = f"MP-{year}-{rng.randint(1000, 999_999):06d}"
    amount = _amount_for(rng, scenario)
    invoice: Invoice | None = None
    if scenario != "invoice_missing":
        invoice_total = amount
        if scenario == "invoice_mismatch":
            invoice_total = amount + Decimal(rng.randint(40, 300))
        invoice = make_invoice(rng, claim_number, loss_type, loss, invoice_total, currency, country,
                               48000 + index * 37 + rng.randint(0, 30), "abc"[index % 3])
    claim = MotorClaim(
        claim_number=claim_number, policy_number=policy_number, claimant_name=name, date_of_loss=loss,
        loss_type=loss_type, vehicle_registration=make_registration(rng, country), amount_claimed=amount,
        currency=currency, payee_iban=make_iban(rng, country), description=rng.choice(DESCRIPTIONS[loss_type]),
        signature_date=loss + timedelta(days=rng.randint(0, 20)), variant=variant, scenario=scenario,
        invoice=invoice,
    )
    return claim, _policy_for(rng, policy_number, name, loss, currency, scenario)


def expect_route(claim: MotorClaim, policy: Policy | None) -> Expectation:
    """Apply the business rules to a planned claim, independently of how its scenario was meant."""
    def result(route: str, reason: str, payout: Decimal | None = None) -> Expectation:
        return Expectation(claim.claim_number, claim.policy_number, route, payout, reason)

    if policy is None:
        return result("review", "policy_not_found")
    if policy.status != "active":
        return result("review", "policy_inactive")
    if not policy.start <= claim.date_of_loss <= policy.end:
        return result("review", "loss_outside_cover")
    if claim.loss_type not in policy.covered_losses and "all risks" not in policy.covered_losses:
        return result("review", "loss_not_covered")
    if claim.date_of_loss < policy.start + timedelta(days=policy.waiting_period_days):
        return result("review", "waiting_period")
    if claim.invoice is None:
        return result("request_documents", "documents_missing")
    if claim.invoice.total != claim.amount_claimed:
        return result("review", "amounts_inconsistent")
    if claim.amount_claimed > SMALL_CLAIM_MAX:
        return result("review", "amount_over_limit")
    payout = min(claim.amount_claimed - policy.deductible, policy.limit)
    if payout <= 0:
        return result("review", "amount_below_deductible")
    return result("settle", "small_clean_claim", money(payout))


def make_plan(seed: int) -> Plan:
    """Return the deterministic plan of all motor claims for `seed`."""
    rng = random.Random(seed)
    claims: list[MotorClaim] = []
    registered: list[Policy] = []
    expectations: list[Expectation] = []
    names: list[str] = []
    while len(names) < len(SCENARIOS):
        name = make_name(rng)
        if not any(name.split(" ", 1)[0] == taken.split(" ", 1)[0] for taken in names[-8:]) and name not in names:
            names.append(name)
    for index, (variant, scenario) in enumerate(SCENARIOS, start=1):
        claim, policy = make_claim(rng, index, variant, scenario, names[index - 1])
        claims.append(claim)
        known = None if scenario == "policy_not_found" else policy
        if known is not None:
            registered.append(known)
        expectations.append(expect_route(claim, known))
    return Plan(tuple(claims), tuple(registered), tuple(expectations))
