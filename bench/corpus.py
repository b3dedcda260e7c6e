"""A labeled corpus for discovery: seeded Faker tables with the true category of every column.

Positives cover every category discovery proposes; hard negatives are the columns that fool
single-match detectors: UUIDs, order numbers and SKUs, timestamps, version strings that parse
as IP addresses, hashed emails, lorem text, digit ids shaped like phone numbers, product names
in a `name` column, and columns whose names say one thing while their values say another.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from faker import Faker

Gen = Callable[[Faker, random.Random, int], object]


@dataclass(frozen=True)
class Kind:
    type: sa.types.TypeEngine
    make: Gen
    truth: str | None  # the category a reviewer would give the column; None = not personal data


def _sometimes(rate: float, make: Gen) -> Gen:
    return lambda f, r, i: make(f, r, i) if r.random() < rate else None


def _ticket(f: Faker, r: random.Random, i: int) -> str:
    contact = r.choice([f"Reach me at {f.email()}.", f"Call me on {f.phone_number()}.", ""])
    return f"{f.sentence(nb_words=10)} {contact} {f.sentence(nb_words=6)}".strip()


def _one_email_notes(f: Faker, r: random.Random, i: int) -> str:
    # Prose where exactly one value carries an email: free text with personal data.
    text = f.paragraph(nb_sentences=2)
    return f"{text} Forwarded by {f.email()}." if i == 7 else text


def _profile_json(f: Faker, r: random.Random, i: int) -> str:
    return json.dumps({"contact": {"email": f.email(), "tz": f.timezone()}, "plan": r.choice("abc")})


def _version(f: Faker, r: random.Random, i: int) -> str:
    return f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}.{r.randint(0, 200)}"


KINDS: dict[str, Kind] = {
    # identifiers of rows, not of people
    "pk": Kind(sa.Integer, lambda f, r, i: i + 1, None),
    "fk": Kind(sa.Integer, lambda f, r, i: r.randint(1, 5000), None),
    "uuid": Kind(sa.String(36), lambda f, r, i: str(f.uuid4()), None),
    "order_no": Kind(sa.String(20), lambda f, r, i: f"ORD-2026-{i:06d}", None),
    "sku": Kind(
        sa.String(20), lambda f, r, i: f"SKU-{r.randint(10000, 99999)}-{r.choice(['S', 'M', 'XL'])}", None
    ),
    "digits10": Kind(sa.String(10), lambda f, r, i: str(r.randint(2_000_000_000, 9_999_999_999)), None),
    "bigint_ref": Kind(sa.BigInteger, lambda f, r, i: r.randint(2_000_000_000, 9_999_999_999), None),
    "version": Kind(sa.String(20), _version, None),
    "email_hash": Kind(sa.String(64), lambda f, r, i: hashlib.sha256(f.email().encode()).hexdigest(), None),
    "token": Kind(sa.String(40), lambda f, r, i: f.sha1(), None),
    # ordinary business data
    "timestamp": Kind(sa.DateTime, lambda f, r, i: f.date_time_between("-3y"), None),
    "ts_text": Kind(sa.String(30), lambda f, r, i: f.date_time_between("-3y").isoformat(sep=" "), None),
    "date": Kind(sa.Date, lambda f, r, i: f.date_between("-3y"), None),
    "amount": Kind(sa.Numeric(10, 2), lambda f, r, i: round(r.uniform(1, 900), 2), None),
    "qty": Kind(sa.Integer, lambda f, r, i: r.randint(1, 20), None),
    "flag": Kind(sa.Boolean, lambda f, r, i: r.random() < 0.5, None),
    "status": Kind(sa.String(20), lambda f, r, i: r.choice(["new", "paid", "shipped", "closed"]), None),
    "country": Kind(sa.String(2), lambda f, r, i: f.country_code(), None),
    "currency": Kind(sa.String(3), lambda f, r, i: f.currency_code(), None),
    "color": Kind(sa.String(20), lambda f, r, i: f.color_name(), None),
    "url": Kind(sa.String(200), lambda f, r, i: f.url(), None),
    "company": Kind(sa.String(100), lambda f, r, i: f.company(), None),
    "job": Kind(sa.String(100), lambda f, r, i: f.job(), None),
    "product": Kind(sa.String(100), lambda f, r, i: f.catch_phrase(), None),
    "word": Kind(sa.String(40), lambda f, r, i: f.word(), None),
    "lorem": Kind(sa.Text, lambda f, r, i: f.paragraph(nb_sentences=3), None),
    "user_agent": Kind(sa.String(300), lambda f, r, i: f.user_agent(), None),
    "path": Kind(sa.String(200), lambda f, r, i: f.file_path(depth=3), None),
    "hostname": Kind(sa.String(100), lambda f, r, i: f.hostname(), None),
    "mac": Kind(sa.String(17), lambda f, r, i: f.mac_address(), None),
    "settings_json": Kind(
        sa.JSON, lambda f, r, i: {"theme": r.choice(["dark", "light"]), "n": r.randint(1, 9)}, None
    ),
    "blob": Kind(sa.LargeBinary, lambda f, r, i: r.randbytes(32), None),
    # personal data
    "email": Kind(sa.String(200), lambda f, r, i: f.unique.email(), "email"),
    "phone_us": Kind(sa.String(40), lambda f, r, i: f.phone_number(), "phone"),
    "phone_e164": Kind(
        sa.String(20), lambda f, r, i: f"+1{r.randint(201, 989)}{r.randint(2000000, 9999999)}", "phone"
    ),
    "first_name": Kind(sa.String(60), lambda f, r, i: f.first_name(), "name"),
    "last_name": Kind(sa.String(60), lambda f, r, i: f.last_name(), "name"),
    "full_name": Kind(sa.String(120), lambda f, r, i: f.name(), "name"),
    "street": Kind(sa.String(200), lambda f, r, i: f.street_address(), "address"),
    "city": Kind(sa.String(100), lambda f, r, i: f.city(), "address"),
    "zip": Kind(sa.String(10), lambda f, r, i: f.postcode(), "address"),
    "full_address": Kind(sa.String(300), lambda f, r, i: f.address().replace("\n", ", "), "address"),
    "ipv4": Kind(sa.String(45), lambda f, r, i: f.ipv4(), "ip_address"),
    "ipv6": Kind(sa.String(45), lambda f, r, i: f.ipv6(), "ip_address"),
    "card": Kind(sa.String(25), lambda f, r, i: f.credit_card_number(), "credit_card"),
    "iban": Kind(sa.String(40), lambda f, r, i: f.iban(), "iban"),
    "ssn": Kind(sa.String(11), lambda f, r, i: f.ssn(), "national_id"),
    "dob": Kind(sa.Date, lambda f, r, i: f.date_of_birth(minimum_age=18, maximum_age=90), "date_of_birth"),
    "dob_text": Kind(
        sa.String(10),
        lambda f, r, i: f.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
        "date_of_birth",
    ),
    "ticket": Kind(sa.Text, _ticket, "free_text"),
    "one_email_notes": Kind(sa.Text, _one_email_notes, "free_text"),
    "profile_json": Kind(sa.Text, _profile_json, "free_text"),
    "customer_no": Kind(
        sa.String(12), lambda f, r, i: f"CUST-{r.randint(100000, 999999)}", "customer_number"
    ),
    "sparse_email": Kind(sa.String(200), _sometimes(0.3, lambda f, r, i: f.email()), "email"),
}

# The customer-number format is the project's own: discovery knows it from this YAML recognizer.
CUSTOM_RECOGNIZERS = {
    "recognizers": [
        {
            "name": "customer_number",
            "regex": r"\bCUST-\d{6}\b",
            "score": 0.7,
            "context": ["customer", "cust"],
            "identity": True,
        }
    ]
}

# table: (column name, kind) ... Names that mislead are deliberate (marked "misleading").
TABLES: dict[str, str] = {
    "customers": "id:pk email:email phone:phone_us first_name:first_name last_name:last_name dob:dob "
    "created_at:timestamp status:status country:country customer_no:customer_no",
    "users": "id:pk username:word email:email password_hash:token last_login_ip:ipv4 signup_at:timestamp "
    "is_admin:flag locale:country display_color:color api_token:token",
    "user_profiles": "id:pk user_id:fk full_name:full_name birth_date:dob_text bio:lorem homepage:url "
    "settings:settings_json avatar:blob employer:company job_title:job",
    "addresses": "id:pk customer_id:fk street:street city:city zip:zip country:country "
    "is_default:flag created_at:timestamp label:word geo_ref:uuid",
    "orders": "id:pk customer_id:fk order_number:order_no placed_at:timestamp total:amount currency:currency "
    "status:status shipping_address:full_address channel:word coupon:word",
    "order_lines": "id:pk order_id:fk sku:sku quantity:qty unit_price:amount discount:amount "
    "line_uuid:uuid shipped_on:date warehouse:word gift:flag",
    "products": "id:pk name:product sku:sku price:amount color:color category:word description:lorem "
    "created_at:timestamp weight:qty active:flag",
    "payments": "id:pk order_id:fk card_number:card cardholder_name:full_name amount:amount "
    "currency:currency paid_at:timestamp processor_ref:token status:status iban:iban",
    "refunds": "id:pk payment_id:fk amount:amount reason:lorem refunded_at:timestamp operator:word "
    "bank_iban:iban status:status ref:order_no approved:flag",
    "support_tickets": "id:pk customer_id:fk subject:word body:ticket opened_at:timestamp status:status "
    "priority:qty channel:word agent:word ticket_uuid:uuid",
    "ticket_notes": "id:pk ticket_id:fk notes:one_email_notes created_at:timestamp internal:flag "
    "author_id:fk visibility:status word_count:qty lang:country edited:flag",
    "sessions": "id:pk user_id:fk session_token:token ip_address:ipv4 user_agent:user_agent "
    "started_at:timestamp ended_at:timestamp device:word country:country trusted:flag",
    "login_events": "id:pk user_id:fk at:timestamp remote_addr:ipv6 result:status agent:user_agent "
    "mfa:flag attempt:qty region:country event_uuid:uuid",
    "employees": "id:pk first_name:first_name last_name:last_name ssn:ssn date_of_birth:dob work_email:email "
    "mobile:phone_us hired_on:date salary:amount department:word",
    "contacts": "id:pk name:full_name email_address:email phone_number:phone_e164 company:company "
    "title:job city:city notes:lorem created_at:timestamp source:word",
    "leads": "id:pk contact:email score:qty source:word campaign:word created_at:timestamp owner:word "
    "status:status company:company website:url",
    "newsletter_subscribers": "id:pk email:email subscribed_at:timestamp confirmed:flag list_name:word "
    "source:word unsubscribe_token:token ip:ipv4 locale:country bounce_count:qty",
    "devices": "id:pk user_id:fk mac_address:mac hostname:hostname firmware_version:version os:word "
    "registered_at:timestamp last_seen:timestamp serial_number:order_no trusted:flag",
    "app_releases": "id:pk version:version released_at:timestamp notes:lorem build:digits10 channel:word "
    "size_bytes:qty checksum:token published:flag platform:word",
    "servers": "id:pk hostname:hostname server_address:hostname fw:version rack:word region:country "
    "provisioned_at:timestamp cpu:qty active:flag owner:word",
    "shipments": "id:pk order_id:fk tracking_code:digits10 carrier:word shipped_at:timestamp "
    "delivered_at:timestamp recipient_name:full_name delivery_address:full_address weight:qty signed:flag",
    "invoices": "id:pk order_id:fk invoice_number:order_no issued_on:date due_on:date amount:amount "
    "currency:currency billing_email:email vat_id:digits10 paid:flag",
    "reviews": "id:pk product_id:fk customer_id:fk rating:qty title:word body:lorem created_at:timestamp "
    "verified:flag helpful:qty reviewer_ip:ipv4",
    "wishlists": "id:pk customer_id:fk product_id:fk added_at:timestamp priority:qty note:word "
    "shared:flag share_token:token list_name:word position:qty",
    "carts": "id:pk session_id:uuid customer_id:fk created_at:timestamp updated_at:timestamp item_count:qty "
    "total:amount currency:currency abandoned:flag coupon:word",
    "audit_log": "id:pk actor_id:fk action:status entity:word entity_id:fk at:timestamp "
    "source_ip:ipv4 request_id:uuid details:settings_json ok:flag",
    "marketing_consents": "id:pk customer_id:fk channel:word granted:flag granted_at:timestamp "
    "withdrawn_at:timestamp source:word policy_version:version evidence_ip:ipv4 consent_uuid:uuid",
    "loyalty_accounts": "id:pk customer_id:fk member_number:customer_no points:qty tier:status "
    "joined_on:date expires_on:date card_color:color referral_code:order_no active:flag",
    "partners": "id:pk company:company contact_name:full_name contact_email:email phone:phone_us "
    "website:url country:country iban:iban since:date active:flag",
    "patients": "id:pk name:full_name dob:dob insurer_ref:token phone:phone_us email:email "
    "address:full_address registered_on:date gp:word notes:ticket",
    "claims": "id:pk patient_id:fk claim_number:order_no submitted_at:timestamp amount:amount status:status "
    "reviewer:word diagnosis_code:word approved:flag claim_uuid:uuid",
    "bank_accounts": "id:pk customer_id:fk iban:iban holder:full_name opened_on:date currency:currency "
    "balance:amount status:status verified:flag branch:word",
    "cards": "id:pk account_id:fk pan:card expiry:word network:word issued_on:date status:status "
    "contactless:flag limit_amount:amount card_uuid:uuid",
    "kyc_checks": "id:pk customer_id:fk ssn:ssn document_ref:token checked_at:timestamp result:status "
    "provider:word score:qty reviewer:word birth_date:dob",
    "chat_messages": "id:pk conversation_id:fk sender_id:fk message:ticket sent_at:timestamp read:flag "
    "channel:word lang:country attachment_ref:uuid edited:flag",
    "email_log": "id:pk to_address:email template:word sent_at:timestamp status:status provider_ref:token "
    "opened:flag clicks:qty campaign:word bounce:flag",
    "webhooks": "id:pk url:url secret:token created_at:timestamp last_status:status retries:qty "
    "active:flag owner_id:fk payload:settings_json event:word",
    "inventory": "id:pk sku:sku warehouse:word on_hand:qty reserved:qty reorder_level:qty "
    "updated_at:timestamp bin:word supplier:company cost:amount",
    "suppliers": "id:pk name:company contact_name:full_name email:email phone:phone_us street:street "
    "city:city zip:zip country:country iban:iban",
    "misc_imports": "id:pk data1:phone_e164 origin:ipv4 contact:email misc:full_address comment:email "
    "email:sku phone:order_no code:customer_no extra:lorem",
    "profiles_raw": "id:pk payload:profile_json received_at:timestamp source:word ok:flag size:qty "
    "checksum:email_hash email_sha256:email_hash external_ref:bigint_ref hint:word",
    "referrals": "id:pk referrer_id:fk referee_email:sparse_email code:order_no created_at:timestamp "
    "rewarded:flag reward:amount channel:word campaign:word link:url",
}


def columns(table: str) -> list[tuple[str, Kind]]:
    return [(name, KINDS[kind]) for name, kind in (spec.split(":") for spec in TABLES[table].split())]


def truth() -> dict[tuple[str, str], str | None]:
    return {(t, name): kind.truth for t in TABLES for name, kind in columns(t)}


def create(engine: sa.Engine, rows: int, seed: int = 11) -> None:
    """Create and fill every corpus table with `rows` seeded rows."""
    metadata = sa.MetaData()
    tables = {
        t: sa.Table(
            t,
            metadata,
            *(sa.Column(n, k.type, primary_key=(n == "id"), autoincrement=False) for n, k in columns(t)),
        )
        for t in TABLES
    }
    metadata.drop_all(engine)
    metadata.create_all(engine)
    for i, (name, table) in enumerate(tables.items()):
        fake = Faker("en_US")
        fake.seed_instance(seed + i)
        rng = random.Random(seed + i)
        cols = columns(name)
        data = [{n: k.make(fake, rng, r) for n, k in cols} for r in range(rows)]
        with engine.begin() as conn:
            conn.execute(table.insert(), data)
