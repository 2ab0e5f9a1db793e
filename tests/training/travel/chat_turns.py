"""Chat turns written for the tests (not taken from any corpus), with every slot they hold.

What real people send a travel assistant rather than clean requests: replies with no slot, counts
of seats and bags, several sentences in one message, "City, ST", nicknames, dates as people write
them, words that point at a place without naming one. Each entry is the text and its slots as
``value -> slot``; a slot missing from the answer, an extra one, or a wrong boundary makes the turn
wrong. The spans follow the product's conventions (README, "Span conventions").
"""

from __future__ import annotations

CHAT_TURNS: dict[str, dict[str, str]] = {
    # Replies, thanks and questions that fill no slot.
    "No, thanks.": {},
    "No thank you, that's everything.": {},
    "Yes please.": {},
    "yup": {},
    "That works for me.": {},
    "Perfect, thank you so much!": {},
    "Nope, I'm good.": {},
    "Sounds great, go ahead and book it.": {},
    "Which airline is that?": {},
    "Is it a nonstop flight?": {},
    "How many stops does it have?": {},
    "Can you look for something cheaper?": {},
    "Not right now, thanks.": {},
    "Please reserve that one for me.": {},
    "What time does it get there?": {},
    "Okay, and how much does that cost?": {},
    "Nah, make it 3 tickets.": {},
    # Counts of people, seats and bags are not slots.
    "I need tickets for 3 people to Denver.": {"Denver": "dest"},
    "Two seats from Boston to Miami, please.": {"Boston": "departure", "Miami": "dest"},
    "It's for four passengers.": {},
    "I have 2 bags to check in.": {},
    "Leaving from Dallas for two adults.": {"Dallas": "departure"},
    "Book 1 ticket to Chicago for Friday.": {"Chicago": "dest", "Friday": "time"},
    "We are a group of five flying to Orlando on June 3rd.": {"Orlando": "dest", "June 3rd": "time"},
    "Just me, with zero checked bags.": {},
    # Several sentences in one message, and the punctuation between them.
    "I want to leave on May 9th. I'm traveling from Austin to Nashville.": {
        "May 9th": "time",
        "Austin": "departure",
        "Nashville": "dest",
    },
    "Going to Phoenix - I'm leaving tomorrow.": {"Phoenix": "dest", "tomorrow": "time"},
    "Yes. Find me a bus to Fresno, on the 4th of April.": {"Fresno": "dest", "4th of April": "time"},
    "I'm flying out of Denver, and my destination is Salt Lake City.": {
        "Denver": "departure",
        "Salt Lake City": "dest",
    },
    "Great. I also need a flight from Miami to Atlanta next Monday.": {
        "Miami": "departure",
        "Atlanta": "dest",
        "next Monday": "time",
    },
    "Sorry, I meant Houston. I'm going there on Sunday.": {"Sunday": "time"},
    "book a flight to Boston.I will leave on Tuesday": {"Boston": "dest", "Tuesday": "time"},
    "From Tampa to Dallas! Leaving this Saturday.": {
        "Tampa": "departure",
        "Dallas": "dest",
        "this Saturday": "time",
    },
    # "City, ST", "City, Country", nicknames and casing.
    "I'd like to go to Portland, OR instead.": {"Portland, OR": "dest"},
    "From Fresno, CA I plan to leave on March 2nd.": {"Fresno, CA": "departure", "March 2nd": "time"},
    "Book me a flight from LA to NYC.": {"LA": "departure", "NYC": "dest"},
    "I am heading to Philly from DC tomorrow.": {"Philly": "dest", "DC": "departure", "tomorrow": "time"},
    "a bus from SF to Vegas please": {"SF": "departure", "Vegas": "dest"},
    "i want to fly from lyon, france to madrid": {"lyon, france": "departure", "madrid": "dest"},
    "FLIGHTS FROM SEATTLE TO SAN DIEGO ON FRIDAY": {
        "SEATTLE": "departure",
        "SAN DIEGO": "dest",
        "FRIDAY": "time",
    },
    "Tickets to Austin, TX for the 14th.": {"Austin, TX": "dest", "the 14th": "time"},
    "Hi! Looking for a flight to Vancouver, Canada on the 5th.": {
        "Vancouver, Canada": "dest",
        "the 5th": "time",
    },
    "How much is it to fly Chicago to Denver?": {"Chicago": "departure", "Denver": "dest"},
    "ok. what about from Newark instead?": {"Newark": "departure"},
    # Dates and times as people write them, in the product's spans.
    "I'd like to leave on the 2nd of this month.": {"2nd of this month": "time"},
    "Flying to Tucson the day after tomorrow.": {"Tucson": "dest", "day after tomorrow": "time"},
    "Can I get a flight to Boise next Wednesday?": {"Boise": "dest", "next Wednesday": "time"},
    "I'm leaving Reno later today.": {"Reno": "departure", "later today": "time"},
    "The bus should leave at 8:15 in the evening.": {"8:15 in the evening": "time"},
    "I want to depart at half past 7 in the morning from Omaha.": {
        "half past 7 in the morning": "time",
        "Omaha": "departure",
    },
    "Leaving Memphis on the 21st of March.": {"Memphis": "departure", "21st of March": "time"},
    "I need to be in Detroit by Thursday next week.": {"Detroit": "dest", "by Thursday next week": "time"},
    # Words that point at a place or an option without naming one.
    "The leaving city is Tulsa.": {"Tulsa": "departure"},
    "My destination is El Paso.": {"El Paso": "dest"},
    "I'm traveling to the city of Raleigh.": {"Raleigh": "dest"},
    "Any airline works, I just need to get to Richmond.": {"Richmond": "dest"},
    "I'd prefer to fly with Alaska Airlines.": {},
    "Economy class is fine.": {},
    "When does the flight arrive there?": {},
    "Can you find me a round trip, returning on April 8th?": {"April 8th": "time"},
    "I want to go from Buffalo to Albany and return on the 20th.": {
        "Buffalo": "departure",
        "Albany": "dest",
        "the 20th": "time",
    },
    # The product's own promise, among them.
    "arrive Taipei on November 2nd": {"Taipei": "dest", "November 2nd": "time"},
    "leave Taipei on November 2nd": {"Taipei": "departure", "November 2nd": "time"},
}
