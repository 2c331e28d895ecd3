"""Player and team names as both NBA sources agree on them (odds feed and nba_api).

:func:`normalise_name` is the comparison key (ASCII, lower case, no punctuation or
suffix, known aliases mapped); :func:`player_lookup` is the platform's key built from it;
:data:`TEAM_TRICODES` maps the odds feed's team names to nba_api tricodes.
"""

from __future__ import annotations

import re
import unicodedata

# Name variants that differ between the odds feed and nba_api beyond accents, punctuation
# and suffixes (found by listing feed names with no game-log name, 2024-25). Keys and
# values are normalised; both sources are mapped, so the value is the one key for the
# player (the nba_api spelling).
NAME_ALIASES: dict[str, str] = {
    "nicolas claxton": "nic claxton",
    "carlton carrington": "bub carrington",
    "herb jones": "herbert jones",
    "moe wagner": "moritz wagner",
    "ron holland": "ronald holland",
    "james huff": "jay huff",
    "bj boston": "brandon boston",
}

# Generational suffixes dropped from the end of a name ("Jr.", "Sr.", "II".."V").
NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v"})

# Letters that NFKD does not decompose into an ASCII base + combining mark.
_SPECIAL_LETTERS = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "ı": "i",
        "þ": "th",
        "ð": "d",
    }
)
_DROP_PUNCT = re.compile(r"[.'’‘`´]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

# Full team names in the odds feed -> NBA tricodes used by nba_api.
TEAM_TRICODES: dict[str, str] = {
    "Atlanta Hawks": "ATL",
    "Boston Celtics": "BOS",
    "Brooklyn Nets": "BKN",
    "Charlotte Hornets": "CHA",
    "Chicago Bulls": "CHI",
    "Cleveland Cavaliers": "CLE",
    "Dallas Mavericks": "DAL",
    "Denver Nuggets": "DEN",
    "Detroit Pistons": "DET",
    "Golden State Warriors": "GSW",
    "Houston Rockets": "HOU",
    "Indiana Pacers": "IND",
    "Los Angeles Clippers": "LAC",
    "LA Clippers": "LAC",
    "Los Angeles Lakers": "LAL",
    "Memphis Grizzlies": "MEM",
    "Miami Heat": "MIA",
    "Milwaukee Bucks": "MIL",
    "Minnesota Timberwolves": "MIN",
    "New Orleans Pelicans": "NOP",
    "New York Knicks": "NYK",
    "Oklahoma City Thunder": "OKC",
    "Orlando Magic": "ORL",
    "Philadelphia 76ers": "PHI",
    "Phoenix Suns": "PHX",
    "Portland Trail Blazers": "POR",
    "Sacramento Kings": "SAC",
    "San Antonio Spurs": "SAS",
    "Toronto Raptors": "TOR",
    "Utah Jazz": "UTA",
    "Washington Wizards": "WAS",
}


def normalise_name(name: str) -> str:
    """A player's name as a comparison key: ASCII, lower case, no punctuation or suffix.

    ``"Luka Dončić"`` -> ``"luka doncic"``, ``"Jaren Jackson Jr."`` -> ``"jaren jackson"``,
    ``"B.J. Boston Jr"`` -> ``"bj boston"``, ``"Nicolas Claxton"`` -> ``"nic claxton"``
    (via :data:`NAME_ALIASES`). Hyphens become spaces, so both sources agree on
    ``"nickeil alexander walker"``.
    """
    text = unicodedata.normalize("NFKD", name.translate(_SPECIAL_LETTERS))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _DROP_PUNCT.sub("", text)
    words = _NON_ALNUM.sub(" ", text).split()
    while len(words) > 1 and words[-1] in NAME_SUFFIXES:
        words.pop()
    key = " ".join(words)
    return NAME_ALIASES.get(key, key)


def player_lookup(name: str) -> str:
    """The platform's ``player_lookup`` key: the normalised name without spaces."""
    return normalise_name(name).replace(" ", "")
