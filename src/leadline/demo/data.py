"""The demo's researched prospects: 340 trade businesses, made the same way every time."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from leadline.ids import slugify

# (city, state, time zone, area code)
TOWNS = [
    ("Austin", "TX", "America/Chicago", "512"), ("Round Rock", "TX", "America/Chicago", "512"),
    ("San Marcos", "TX", "America/Chicago", "512"), ("Georgetown", "TX", "America/Chicago", "512"),
    ("Denver", "CO", "America/Denver", "303"), ("Aurora", "CO", "America/Denver", "720"),
    ("Boulder", "CO", "America/Denver", "303"), ("Phoenix", "AZ", "America/Phoenix", "602"),
    ("Mesa", "AZ", "America/Phoenix", "480"), ("Tempe", "AZ", "America/Phoenix", "480"),
    ("Charlotte", "NC", "America/New_York", "704"), ("Raleigh", "NC", "America/New_York", "919"),
    ("Durham", "NC", "America/New_York", "919"), ("Nashville", "TN", "America/Chicago", "615"),
    ("Franklin", "TN", "America/Chicago", "615"), ("Columbus", "OH", "America/New_York", "614"),
    ("Tampa", "FL", "America/New_York", "813"), ("Orlando", "FL", "America/New_York", "407"),
    ("Sacramento", "CA", "America/Los_Angeles", "916"), ("Boise", "ID", "America/Boise", "208"),
    ("Salt Lake City", "UT", "America/Denver", "801"), ("Kansas City", "MO", "America/Chicago", "816"),
    ("Omaha", "NE", "America/Chicago", "402"), ("Indianapolis", "IN", "America/Indiana/Indianapolis", "317"),
]  # fmt: skip

TRADES: dict[str, tuple[int, list[str]]] = {
    # trade: (weight, name patterns)
    "plumbing": (22, ["{s} Plumbing", "{s} & Sons Plumbing", "{a} Plumbing Co", "{t} Plumbing & Drain",
                      "{a} Flow Plumbing", "{s} Plumbing & Rooter"]),
    "hvac": (20, ["{s} Heating & Air", "{a} Air Conditioning", "{t} Comfort Systems", "{a} HVAC Services",
                  "{s} Heating & Cooling"]),
    "electrical": (16, ["{s} Electric", "{a} Spark Electrical", "{t} Electrical Contractors",
                        "{s} Electrical Services", "{a} Wiring Co"]),
    "roofing": (14, ["{s} Roofing", "{a} Peak Roofing", "{t} Roof Pros", "{a} Roofing & Gutters",
                     "{s} Roofing Co"]),
    "landscaping": (8, ["{a} Lawn & Landscape", "{s} Landscaping", "{t} Yard Works", "{a} Outdoor Living"]),
    "pest control": (6, ["{a} Pest Control", "{s} Exterminating", "{t} Pest Pros"]),
    "garage doors": (5, ["{a} Garage Doors", "{t} Overhead Door", "{s} Garage Door Repair"]),
    "painting": (4, ["{s} Painting", "{a} Painting Co", "{t} Pro Painters"]),
    "tree service": (3, ["{s} Tree Service", "{a} Tree Care", "{t} Arborists"]),
    "water damage": (2, ["{a} Restoration", "{t} Water Damage Pros", "{s} Restoration Services"]),
}  # fmt: skip

ADJECTIVES = [
    "Royal", "Summit", "Precision", "Reliable", "Blue Ribbon", "Apex", "Liberty", "Patriot", "Evergreen",
    "Pioneer", "Heritage", "Keystone", "Lone Star", "Golden", "Premier", "Superior", "Northside", "Southside",
    "Eagle", "Anchor", "Cardinal", "Redwood", "Ironclad", "Trusted", "Hometown", "Bluebonnet", "Frontier",
    "Canyon", "Copper", "Granite", "Harbor", "Meadow", "Oak Hill", "Pinnacle", "Ridgeline", "Silver Creek",
]  # fmt: skip
SURNAMES = [
    "Anderson", "Baker", "Carter", "Dawson", "Ellis", "Foster", "Garcia", "Hughes", "Jensen", "Kowalski",
    "Lopez", "Morgan", "Nguyen", "O'Brien", "Patel", "Quinn", "Reyes", "Sullivan", "Thompson", "Walsh",
    "Young", "Bennett", "Castillo", "Delgado", "Fischer", "Gallagher", "Hoffman", "Iverson", "Keller",
    "Larson", "Mendoza", "Novak", "Ortega", "Price", "Ramirez", "Schmidt", "Tucker", "Vaughn", "Whitaker",
]  # fmt: skip
FIRST_NAMES = [
    "Daniel", "Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer", "David", "Elizabeth",
    "Carlos", "Sarah", "Kevin", "Angela", "Brian", "Nicole", "Jose", "Rachel", "Mark", "Laura", "Tony",
    "Heather", "Luis", "Amanda", "Greg", "Megan", "Steve", "Tasha", "Ray", "Kim",
]  # fmt: skip
GAPS = [
    "No Google Business Profile posts in 90 days",
    "Fewer than 20 Google reviews",
    "No online booking",
    "Slow mobile site (LCP over 4 s)",
    "Missing service-area pages",
    "No before/after photos",
    "Inconsistent name/address/phone across directories",
    "No emergency-service page",
    "Unanswered reviews",
    "No HTTPS on the website",
    "Website has no click-to-call button",
    "Not listed on Bing Places or Apple Maps",
]


@dataclass
class DemoProspect:
    name: str
    trade: str
    contact_name: str
    email: str
    phone: str
    website: str
    city: str
    state: str
    timezone: str
    tier: int
    grid_health: int
    critical_gaps: int
    gaps: list[str]
    top_competitor: str
    competitor_health: int
    deal_value: int

    def as_row(self) -> dict[str, Any]:
        return {
            "name": self.name, "trade": self.trade, "contactName": self.contact_name, "email": self.email,
            "phone": self.phone, "website": self.website, "city": self.city, "state": self.state,
            "timezone": self.timezone, "tier": self.tier, "gridHealth": self.grid_health,
            "criticalGaps": self.critical_gaps, "gaps": self.gaps, "topCompetitor": self.top_competitor,
            "competitorHealth": self.competitor_health, "dealValue": self.deal_value,
        }  # fmt: skip


def _business_name(rng: random.Random, trade: str, town: str) -> str:
    pattern = rng.choice(TRADES[trade][1])
    return pattern.format(s=rng.choice(SURNAMES), a=rng.choice(ADJECTIVES), t=town)


def generate(count_by_tier: tuple[int, int, int] = (25, 100, 215), seed: int = 2025) -> list[DemoProspect]:
    """Prospects in tier order: the seed's Royal Plumbing Co first, then the rest."""
    rng = random.Random(seed)
    trades = list(TRADES)
    weights = [TRADES[t][0] for t in trades]
    used_names: set[str] = set()
    used_emails: set[str] = set()
    people: list[DemoProspect] = []
    royal = DemoProspect(
        name="Royal Plumbing Co", trade="plumbing", contact_name="Daniel Reyes",
        email="daniel@royalplumbingco.com", phone="(512) 555-0142", website="https://www.royalplumbingco.com",
        city="Austin", state="TX", timezone="America/Chicago", tier=1, grid_health=48, critical_gaps=4,
        gaps=[GAPS[0], GAPS[1], GAPS[2], GAPS[4]], top_competitor="Summit Plumbing & Drain",
        competitor_health=81, deal_value=2400,
    )  # fmt: skip
    people.append(royal)
    used_names.add(royal.name)
    used_emails.add(royal.email)
    for tier, count in zip((1, 2, 3), count_by_tier, strict=True):
        made = 1 if tier == 1 else 0
        while made < count:
            trade = rng.choices(trades, weights)[0]
            city, state, zone, area = rng.choice(TOWNS)
            name = _business_name(rng, trade, city)
            if name in used_names:
                continue
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(SURNAMES)
            domain = slugify(name).replace("_", "") + ".com"
            email = f"{slugify(first).replace('_', '')}@{domain}"
            if email in used_emails:
                continue
            used_names.add(name)
            used_emails.add(email)
            low, high = {1: (25, 55), 2: (40, 70), 3: (50, 88)}[tier]
            health = rng.randint(low, high)
            gap_count = {1: rng.randint(3, 6), 2: rng.randint(2, 4), 3: rng.randint(0, 3)}[tier]
            competitor = _business_name(rng, trade, city)
            while competitor == name:
                competitor = _business_name(rng, trade, city)
            people.append(
                DemoProspect(
                    name=name, trade=trade, contact_name=f"{first} {last}", email=email,
                    phone=f"({area}) 555-01{rng.randint(0, 99):02d}", website=f"https://www.{domain}",
                    city=city, state=state, timezone=zone, tier=tier, grid_health=health,
                    critical_gaps=gap_count,
                    gaps=rng.sample(GAPS, k=min(len(GAPS), gap_count + rng.randint(0, 2))),
                    top_competitor=competitor, competitor_health=min(98, health + rng.randint(12, 35)),
                    deal_value=rng.choice([1200, 1500, 1800, 2000, 2400, 3000]),
                )
            )  # fmt: skip
            made += 1
    return people
