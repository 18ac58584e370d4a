"""The generators' raw material: names, domains, countries, tag words, lorem text, enumerations and the
custom data attributes of each model (keys with spaces, dots, capitals and emoji on purpose)."""

from __future__ import annotations

FIRST_NAMES = [
    "Ada",
    "Grace",
    "José",
    "Zoë",
    "Øyvind",
    "Siobhán",
    "Łukasz",
    "Ngozi",
    "Hiroshi",
    "Mía",
    "François",
    "Anaïs",
    "Dmitrï",
    "Björn",
    "Çağla",
    "Renée",
    "Ólafur",
    "Priya",
    "Wei",
    "Fatima",
    "Kwame",
    "Émile",
    "Ines",
    "Tomás",
]
LAST_NAMES = [
    "Lovelace",
    "Hopper",
    "Müller",
    "García",
    "Nakamura",
    "O'Brien",
    "Søndergaard",
    "Kowalski",
    "Adeyemi",
    "Dubois",
    "Ivanov",
    "Rossi",
    "Chen",
    "Papadopoulos",
    "Van der Berg",
    "Smith",
    "Núñez",
    "Kim",
    "Haddad",
]
UNICODE_NAMES = [
    "李小龙",
    "Владимир Петров",
    "محمد علي",
    "🦄 Unicorn Fan",
    "Zoë 🎉 O'Connor",
    "김민수",
    "ñandú ✨",
]
DOMAINS = ["example.com", "mail.test", "acme.io", "globex.co.uk", "initech.dev", "umbrella.org", "exämple.de"]
COUNTRIES = [
    ("United States", "US", "NA", "California", "San Francisco"),
    ("Ireland", "IE", "EU", "Dublin", "Dublin"),
    ("Germany", "DE", "EU", "Berlin", "Berlin"),
    ("Japan", "JP", "AS", "Tokyo", "Tokyo"),
    ("Brazil", "BR", "SA", "São Paulo", "São Paulo"),
    ("Nigeria", "NG", "AF", "Lagos", "Lagos"),
    ("Australia", "AU", "OC", "New South Wales", "Sydney"),
    ("France", "FR", "EU", "Île-de-France", "Paris"),
]
BROWSERS = ["chrome", "firefox", "safari", "edge", None]
OSES = ["OS X 14.1", "Windows 11", "Linux", "iOS 17.2", "Android 14", None]
LANGUAGES = ["en", "fr", "de", "ja", "pt-BR", None]
INDUSTRIES = ["Software", "Retail", "Finance", "Healthcare", "Education", "Manufacturing", "Media & 🎬"]
TAG_WORDS = [
    "VIP",
    "churn-risk",
    "beta 🚀",
    "Enterprise",
    "trial",
    "needs follow-up",
    "NPS détracteur",
    "partner",
    "billing",
    "onboarding",
    "priority",
    "legacy plan",
    "从中国",
    "refund",
    "upsell",
]
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. "
).split()
LOREM_RING = LOREM * 40  # slices of it give texts of up to ~700 words
SOURCE_TYPES = [
    "conversation",
    "email",
    "facebook",
    "instagram",
    "phone_call",
    "push",
    "sms",
    "twitter",
    "whatsapp",
]
PART_TYPES = [
    "comment",
    "comment",
    "comment",
    "note",
    "assignment",
    "open",
    "close",
    "snoozed",
    "conversation_attribute_updated_by_admin",
]
TICKET_STATES = ["submitted", "in_progress", "waiting_on_customer", "resolved"]
TICKET_CATEGORIES = ["Customer", "Back-office", "Tracker"]
ACTIVITY_TYPES = [
    "admin_login_success",
    "admin_logout",
    "app_name_change",
    "message_state_change",
    "admin_away_mode_change",
    "conversation_topic_change",
    "admin_invite_creation",
    "app_data_export",
    "search_browse_enabled_change",
]
CONTENT_TYPES = ["email", "post", "custom_bot", "survey", "tour", "chat", "push", "sms"]

# (name, data_type) of custom data attributes per model: keys with spaces, dots, capitals, emoji on purpose.
CUSTOM_ATTRIBUTES: dict[str, list[tuple[str, str]]] = {
    "contact": [
        ("Plan Tier", "string"),
        ("account.region", "string"),
        ("MRR", "float"),
        ("seats", "integer"),
        ("is Beta", "boolean"),
        ("Last Demo Date", "date"),
        ("favourite 🍕", "string"),
        ("notes.long", "string"),
        ("NPS", "integer"),
    ],
    "company": [
        ("Contract Value", "float"),
        ("renewal.date", "date"),
        ("Account Owner", "string"),
        ("employees", "integer"),
        ("churned", "boolean"),
    ],
    "conversation": [
        ("Issue Type", "string"),
        ("escalated", "boolean"),
        ("Order.Number", "integer"),
        ("refund amount", "float"),
        ("Follow-up Date", "date"),
    ],
}
