"""Stable vocabulary codes (lower_snake_case) and their English labels, and the app's roles."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a person is to the platform; decides which pages and API routes they reach."""

    CLIENT = "client"
    THERAPIST = "therapist"
    ADMIN = "admin"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"  # therapist sign-up waiting for an admin
    DISABLED = "disabled"
    CLOSED = "closed"  # closed by its owner; billing records kept under the id


class CalendarDetail(StrEnum):
    """How much a calendar entry says about a session."""

    DISCREET = "discreet"  # "Appointment"
    NAMED = "named"  # "Session with <the other person>"
    INITIALS = "initials"  # "Session with A. R." (a therapist's feed on a shared screen)


def initials(name: str) -> str:
    """ "Ana María Reyes" -> "A. M. R.": enough for the person who knows, little to others."""
    return " ".join(f"{part[0].upper()}." for part in name.split() if part[0].isalnum())


MODALITIES: dict[str, str] = {
    "cbt": "Cognitive behavioural therapy (CBT)",
    "act": "Acceptance and commitment therapy (ACT)",
    "dbt": "Dialectical behaviour therapy (DBT)",
    "psychodynamic": "Psychodynamic therapy",
    "psychotherapy": "Psychotherapy (talk therapy)",
    "group": "Group therapy",
    "art": "Art therapy",
    "music": "Music therapy",
    "mindfulness": "Mindfulness-based therapy",
    "occupational": "Occupational therapy",
    "medication_management": "Medication management",
    "emdr": "EMDR",
    "family_systems": "Family and couples therapy",
    "motivational_interviewing": "Motivational interviewing",
}

SETTINGS: dict[str, str] = {
    "online": "Online (video)",
    "in_office": "In an office",
    "home": "Home visit",
}

LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "ar": "Arabic",
    "bn": "Bengali",
    "fr": "French",
    "ht": "Haitian Creole",
    "hi": "Hindi",
    "ko": "Korean",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "so": "Somali",
    "tl": "Tagalog",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "yi": "Yiddish",
    "asl": "American Sign Language",
}

CULTURAL_BACKGROUNDS: dict[str, str] = {
    "african_american": "African American / Black",
    "african": "African",
    "caribbean": "Caribbean",
    "latin_american": "Latin American / Hispanic",
    "east_asian": "East Asian",
    "south_asian": "South Asian",
    "southeast_asian": "Southeast Asian",
    "middle_eastern": "Middle Eastern / North African",
    "native_american": "Native American / Indigenous",
    "pacific_islander": "Pacific Islander",
    "jewish": "Jewish",
    "muslim": "Muslim",
    "eastern_european": "Eastern European",
    "immigrant_refugee": "Immigrant and refugee communities",
    "lgbtq": "LGBTQ+",
    "veteran": "Veterans and military families",
    "deaf": "Deaf and hard of hearing",
}

CONCERNS: dict[str, str] = {
    "anxiety": "Anxiety",
    "depression": "Depression",
    "trauma": "Trauma and PTSD",
    "grief": "Grief and loss",
    "substance_use": "Substance use",
    "relationships": "Relationships",
    "family_conflict": "Family conflict",
    "stress": "Stress and burnout",
    "eating": "Eating and body image",
    "ocd": "Obsessive-compulsive disorder",
    "bipolar": "Bipolar disorder",
    "adhd": "ADHD",
    "identity": "Identity and self-esteem",
    "life_transitions": "Life transitions",
    "parenting": "Parenting",
    "immigration_stress": "Immigration and acculturation",
}

AGE_GROUPS: dict[str, str] = {
    "children": "Children (under 13)",
    "adolescents": "Adolescents (13-17)",
    "adults": "Adults",
    "older_adults": "Older adults (65+)",
}

GENDERS: dict[str, str] = {
    "woman": "Woman",
    "man": "Man",
    "non_binary": "Non-binary",
}

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}  # fmt: skip


def label(vocabulary: dict[str, str], code: str) -> str:
    """The label of a code, or the code itself when unknown (never raises in templates)."""
    return vocabulary.get(code, code)
