"""Synthetic "broadcast" videos with ground truth, for the job tests (summarize, find, ads, ask)
and the evaluation families (:mod:`vidq.testing.families`).

    sc = short_scenario(cache_dir)     # ~2.9 min: 3 topics, 4 needles, 1 ad break, a sponsor read
    sc = hour_scenario(cache_dir)      # ~61 min: 12 topics, 10 needles at 10 depths, 3 breaks (one ad aired twice)
    sc = build_scenario(cache_dir, recipe)   # any Recipe: content, positions and a Style
    plan_scenario(recipe)              # its truth without rendering (espeak-ng only)
    sc.video, sc.truth                 # the .mp4 and the .json beside it
    sc.needles, sc.ad_breaks, sc.ads, sc.sponsors, sc.topics, sc.qa, sc.of_kind("speech")
    load_scenario(sc.truth)            # the same Scenario back from the JSON

What is in a video (320x180, 5 fps, H.264 + AAC mono 16 kHz), in the classic ``Style`` (the
job tests' scenarios and the tuning family):

- **Programme**: one topic after another (lighthouses, beekeeping, volcanoes, ...), each
  with its own muted background colour and moving pattern, a station logo ("VQ" in a box,
  top right) all the time, a lower-third caption with the topic's title for its first 4 s,
  and espeak-ng sentences about the topic (facts the QA items ask about) over a soft
  music bed (~ -40 dBFS, never digital silence).
- **Needles**: spoken sentences ("The secret code is 7 4 1.") and on-screen signs
  ("BLUE PELICAN", 6 s) at chosen depths; each with a ``query`` a user would type.
- **Ad breaks**, inside topics as broadcast does: 0.6 s of black frames and digital
  silence before, between and after spots; spots are saturated, bright, without the
  logo, some pillar- or letterboxed, with cards changing every ~2 s and their own big
  text ("FIZZ COLA", "ONLY $1.99"), a louder jingle bed and speech about 9 dB louder than
  the programme ("Ice-cold Fizz Cola, only 1.99! ..."). In the hour video the Fizz Cola
  spot is aired twice (identical frames: a repeated segment).
- **A sponsor read** spoken at programme level over the programme's own picture ("This
  video is sponsored by Brightpath VPN ...") with no visual change.

A ``Style`` changes the voice and speed, fonts, text looks and positions, the logo (or none),
the pattern panel's size and motion, levels, a noise floor and cuts inside topics; an ``Ad``
carries its own voice, loudness, jingle, saturation, card rhythm and whether the logo stays;
a ``BreakSpec`` says whether black frames or hard cuts bound and separate its spots and how
many seconds of narration-free programme (a "tail", bed only or quiet) precede it.  The
held-out and fresh families (:mod:`vidq.testing.heldout`, :mod:`vidq.testing.fresh`) use all
of that; the defaults are the classic.

Ground truth (``Event``: start, end, kind, text, label, channel, query, category) is written
as JSON next to the video; kinds are ``topic``, ``speech`` (every sentence spoken, label
programme/needle/ad/sponsor), ``screen`` (every on-screen text), ``needle``, ``ad`` (one per
spot: brand, category, the query that should find it), ``ad_break`` (one per break, black
frames included), ``black``, ``sponsor`` and ``tail`` (narration stopped before a break).
``QAItem`` s are multiple-choice questions about the spoken programme, with the answer's
letter and the span of the sentence that answers it.  Times of speech are the first and
last audible sample of each sentence.  Schema ``vidq-scenario/2`` adds ``category``,
``tail``, ``family`` and ``info`` (voices, speeds, fonts; ``ad_avoid``: the words each spot
never says or shows, where the recipe names them) to schema 1, which still loads.

Files are cached under the caller's directory, keyed by a digest of the recipe (content,
style, and the font files it resolves to on this machine): a second call returns at once.
Generation is deterministic from the recipe.  Uses the ``ffmpeg`` and ``espeak-ng`` binaries
(argument lists, never a shell).  Knows nothing about vidq's decoders, models or jobs.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import itertools
import json
import logging
import os
import random
import shutil
import subprocess
import tempfile
import time
import wave
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidq.testing.speech import ESPEAK_RATE, espeak
from vidq.testing.video import find_font

log = logging.getLogger("vidq.testing")

SCHEMA = "vidq-scenario/2"  # the truth JSON's schema
READABLE_SCHEMAS = ("vidq-scenario/1", SCHEMA)  # what load_scenario reads
RECIPE_VERSION = 5  # bump when the rendering changes, so cached files are rebuilt
SIZE = (320, 180)  # width, height in pixels
FPS = 5  # frames per second (low: the generator's cost is per frame)
SAMPLE_RATE = 16000  # Hz, audio track
FRAME = 1.0 / FPS  # seconds per frame; every piece lasts a whole number of frames
GOP = 10  # frames between keyframes (2 s)
BLACK = 0.6  # seconds of black + silence around each spot
PROGRAMME_SPEECH_DB = -24.0  # dBFS RMS of programme (and sponsor, needle) speech
AD_SPEECH_DB = -15.0  # dBFS RMS of ad speech: 9 dB louder
BED_DB = -40.0  # programme music bed, dBFS RMS
AD_BED_DB = -22.0  # ad jingle bed, dBFS RMS
CAPTION_SECONDS = 4.0  # a topic's title caption stays this long
SIGN_SECONDS = 6.0  # an on-screen needle stays this long
LETTERS = "ABCD"
GRADIENT_COLORS = ("0x3060c0", "0xc06030", "0x30a050", "0xc0b030", "0x8040b0", "0x30b0c0", "0xd08040")  # gradient panels
FONT_DIRS = (  # where Style.fonts names are looked up (Debian/Ubuntu, Arch/Fedora, macOS)
    "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation", "/usr/share/fonts/truetype/liberation2",
    "/usr/share/fonts/TTF", "/usr/share/fonts/dejavu-sans-fonts", "/usr/share/fonts/dejavu-serif-fonts",
    "/usr/share/fonts/liberation-sans", "/usr/share/fonts/liberation-serif", "/Library/Fonts",
)


# -- content ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Topic:
    title: str  # caption and chapter title
    sentences: tuple[str, ...]  # spoken in order, cycling when the topic is long
    questions: tuple[tuple[int, str, tuple[str, str, str, str]], ...]  # (sentence index, question, options; first correct)
    color: str  # background colour (0xRRGGBB)
    pattern: str  # moving pattern: life | grid | gradient | bars | cellauto | mandelbrot | sierpinski | testsrc
    #               | spectrum | chart | plasma | rgbscroll


TOPICS: tuple[Topic, ...] = (
    Topic("Lighthouses", (
        "Welcome to our programme about the lighthouses of the northern coast.",
        "The lighthouse on Gull Island was built in 1887 from local granite.",
        "Its lamp could be seen by sailors from twenty miles away.",
        "For forty years a keeper named Martha Quill climbed its steps every evening.",
        "Keepers trimmed the wicks and polished the great glass lens by hand.",
        "Today the light is automatic and the keeper's cottage is a small museum.",
        "Storms on this coast can push waves right over the lantern room.",
    ), ((1, "When was the lighthouse on Gull Island built?", ("1887", "1923", "1850", "1901")),
        (3, "What was the name of the lighthouse keeper?", ("Martha Quill", "Ellen Brooks", "Sarah Finch", "Anna Reed"))),
        "0x3a4a5a", "life"),
    Topic("Beekeeping", (
        "Now let us turn to beekeeping, one of the oldest crafts in the countryside.",
        "A healthy hive can hold around fifty thousand honey bees in midsummer.",
        "The queen lays up to two thousand eggs in a single day.",
        "Worker bees visit clover and heather to collect nectar and pollen.",
        "Our local beekeeper, Tom Ashby, keeps his hives behind the old mill.",
        "Beekeepers wear a veil and use a smoker to calm the colony.",
        "A good summer can give thirty pounds of honey from each hive.",
    ), ((2, "How many eggs can the queen bee lay in a day?", ("Two thousand", "Two hundred", "Twenty thousand", "Fifty")),
        (4, "Where does Tom Ashby keep his hives?", ("Behind the old mill", "On the church roof", "In the orchard",
                                                   "By the river bridge"))),
        "0x5a5030", "grid"),
    Topic("Volcanoes", (
        "Next, we travel to the volcanoes of the Pacific ring of fire.",
        "Magma rises through cracks in the crust and erupts as glowing lava.",
        "The volcano called Mount Kesta last erupted in 1964.",
        "Scientists measure small earthquakes to predict the next eruption.",
        "Volcanic ash makes the surrounding farmland very fertile.",
        "Some lava flows move slower than a person can walk.",
        "Hot springs near the crater are popular with visitors in winter.",
    ), ((2, "When did Mount Kesta last erupt?", ("1964", "1981", "1932", "2003")),
        (4, "What does volcanic ash do to the farmland around a volcano?", (
            "It makes it very fertile", "It turns it into desert", "It makes it salty", "It freezes it"))),
        "0x5a3030", "gradient"),
    Topic("Bread baking", (
        "Let us step into the bakery and talk about baking bread.",
        "Good bread needs only flour, water, salt and yeast.",
        "The dough is kneaded for ten minutes to build strong gluten.",
        "Our baker, Rosa Linden, starts work at four o'clock every morning.",
        "A sourdough starter is a living culture of wild yeast and bacteria.",
        "The loaves bake in a stone oven at two hundred and thirty degrees.",
        "A hollow sound when you tap the base means the loaf is done.",
    ), ((3, "What time does the baker Rosa Linden start work?", ("Four o'clock", "Six o'clock", "Midnight",
                                                                "Nine o'clock")),
        (6, "How can you tell that a loaf is done?", ("It sounds hollow when tapped", "It turns black",
                                                      "It smells sour", "It floats in water"))),
        "0x4a4038", "bars"),
    Topic("Chess history", (
        "Our next topic is the long history of the game of chess.",
        "Chess began in India about fifteen hundred years ago.",
        "The game travelled through Persia before it reached Europe.",
        "The queen became the most powerful piece only in the fifteenth century.",
        "Today players study openings with computers that never tire.",
        "A young player named Ivo Marek won the city championship at the age of twelve.",
        "Clubs meet every Thursday evening in the library hall.",
    ), ((3, "When did the queen become the most powerful chess piece?", (
        "In the fifteenth century", "In the tenth century", "In the nineteenth century", "In the first century")),
        (5, "How old was Ivo Marek when he won the city championship?", ("Twelve", "Twenty", "Eight", "Sixteen"))),
        "0x303a50", "life"),
    Topic("Desert travel", (
        "Now we cross the great deserts, where travel is a test of endurance.",
        "Camels can walk for a week with very little water.",
        "Desert nights are cold even after burning hot days.",
        "Travellers on the old salt road carried dates, cloth and copper.",
        "An oasis forms where underground water reaches the surface.",
        "Guides find their way by the stars and the shape of the dunes.",
        "Sandstorms can hide the sun for a whole afternoon.",
    ), ((3, "What did travellers on the old salt road carry?", ("Dates, cloth and copper", "Tea and silk",
                                                               "Wool and iron", "Fish and grain")),
        (5, "How do desert guides find their way?", ("By the stars and the shape of the dunes", "With radios",
                                                     "By following rivers", "With maps from a museum"))),
        "0x5a4a30", "grid"),
    Topic("Coral reefs", (
        "Beneath the waves, coral reefs are some of the richest places on Earth.",
        "A coral reef is built by tiny animals called polyps.",
        "Reefs cover less than one percent of the ocean floor but shelter a quarter of all marine fish.",
        "Warm water can cause coral bleaching, which turns the reef white.",
        "Parrotfish chew on coral and produce fine white sand.",
        "Divers are asked never to touch the coral.",
        "Scientists are growing new coral on underwater frames.",
    ), ((2, "What share of all marine fish do coral reefs shelter?", ("A quarter", "A half", "A tenth", "Almost all")),
        (4, "What do parrotfish produce?", ("Fine white sand", "Pearls", "Oxygen bubbles", "Black ink"))),
        "0x305050", "gradient"),
    Topic("Steam trains", (
        "All aboard, because our next story is about steam trains.",
        "A steam locomotive burns coal to boil water in its boiler.",
        "The famous engine Silver Arrow reached a speed of one hundred and twenty six miles per hour.",
        "Firemen shovelled up to two tons of coal on a long journey.",
        "Volunteers now restore old engines in a shed near the harbour.",
        "The whistle was used to warn workers along the line.",
        "Heritage railways carry thousands of visitors every summer.",
    ), ((2, "What speed did the engine Silver Arrow reach?", ("126 miles per hour", "80 miles per hour",
                                                             "200 miles per hour", "95 miles per hour")),
        (4, "Where do volunteers restore old engines?", ("In a shed near the harbour", "In a castle",
                                                         "At the airport", "In a school"))),
        "0x403040", "bars"),
    Topic("Mountain weather", (
        "High in the mountains, the weather can change in minutes.",
        "Air gets about six degrees colder for every thousand metres you climb.",
        "Clouds that form over peaks in the afternoon can bring thunderstorms.",
        "Climbers should start early and turn back if the wind grows strong.",
        "The mountain hut at Eagle Pass has a weather station on its roof.",
        "Fresh snow can cover the trail markers overnight.",
        "Always carry a warm layer, even in summer.",
    ), ((1, "How much colder does the air get for every thousand metres you climb?", (
        "About six degrees", "About one degree", "About twenty degrees", "It gets warmer")),
        (4, "What is on the roof of the mountain hut at Eagle Pass?", ("A weather station", "A bell", "A solar oven",
                                                                       "A flag pole"))),
        "0x384858", "life"),
    Topic("Paper making", (
        "Let us look at how paper is made, from tree to page.",
        "Wood is chipped and cooked into a soft pulp.",
        "The pulp is spread on a fast moving wire mesh to drain the water.",
        "Heavy rollers press and dry the sheet until it is thin and smooth.",
        "The oldest paper mill in our valley opened in 1790.",
        "Recycled paper can be pulped again about seven times.",
        "Special papers for banknotes contain cotton fibres.",
    ), ((4, "When did the oldest paper mill in the valley open?", ("1790", "1850", "1910", "1700")),
        (5, "How many times can recycled paper be pulped again?", ("About seven times", "Only once",
                                                                   "About fifty times", "Forever"))),
        "0x4a4a40", "grid"),
    Topic("Owls", (
        "As night falls, we meet the owls of the forest.",
        "Owls can turn their heads about two hundred and seventy degrees.",
        "Soft edges on their feathers let them fly almost silently.",
        "The barn owl hunts mice and voles by sound alone.",
        "A pair of tawny owls has nested in the church tower for ten years.",
        "Owl pellets contain the bones and fur of their prey.",
        "Their calls are most frequent in late autumn.",
    ), ((1, "How far can an owl turn its head?", ("About 270 degrees", "About 90 degrees", "Two full circles",
                                                  "About 45 degrees")),
        (4, "Where have the tawny owls nested for ten years?", ("In the church tower", "In a barn", "In a hollow oak",
                                                                "Under a bridge"))),
        "0x2e3a2e", "gradient"),
    Topic("Glass blowing", (
        "Finally, we visit a glass blowing studio by the harbour.",
        "Glass is made by melting sand, soda and lime in a furnace.",
        "The furnace stays at more than one thousand degrees all year.",
        "The glass blower, Nina Sorel, gathers molten glass on a long steel pipe.",
        "She blows gently to form a bubble and shapes it with wet wooden tools.",
        "Finished pieces cool slowly overnight in an oven called an annealer.",
        "Each vase takes about three hours to make.",
    ), ((3, "What is the name of the glass blower?", ("Nina Sorel", "Clara Voss", "Maria Lund", "Eva Stone")),
        (5, "Where do finished glass pieces cool?", ("Slowly overnight in an annealer", "In cold water",
                                                     "Outside in the snow", "In the furnace"))),
        "0x503a48", "bars"),
)


@dataclass(frozen=True)
class Needle:
    channel: str  # "speech" (spoken) or "screen" (a sign)
    text: str  # what is said or shown
    query: str  # what a user would search for


NEEDLES: tuple[Needle, ...] = (
    Needle("speech", "The secret code is 7 4 1.", "the secret code"),
    Needle("screen", "BLUE PELICAN", "a sign reading blue pelican"),
    Needle("speech", "The meeting point is the old red windmill.", "where is the meeting point"),
    Needle("screen", "GATE 42 CLOSED", "gate 42 closed"),
    Needle("speech", "Remember, the password is marmalade sandwich.", "what is the password"),
    Needle("screen", "ORANGE GIRAFFE CAFE", "orange giraffe cafe"),
    Needle("speech", "The treasure is buried under the third oak tree.", "where is the treasure buried"),
    Needle("screen", "PURPLE SUBMARINE", "purple submarine"),
    Needle("speech", "The winning lottery number was 58.", "the winning lottery number"),
    Needle("screen", "SILVER KANGAROO", "silver kangaroo"),
)


@dataclass(frozen=True)
class TextLook:
    """How one kind of on-screen text is drawn (ffmpeg ``drawtext``)."""

    size: int  # font size, pixels
    color: str  # text colour
    box: str | None  # colour of a box behind the text (None: no box)
    x: str  # drawtext x expression
    y: str  # drawtext y expression
    border: int = 0  # black outline width in pixels (for text without a box)


@dataclass(frozen=True)
class Logo:
    """The station logo ("bug") in a corner of every programme frame."""

    text: str = "VQ"
    corner: str = "tr"  # tl | tr | bl | br
    size: int = 15  # font size, pixels
    color: str = "white"  # text colour (with @alpha for a translucent bug)
    frame: str | None = "white@0.9"  # colour of an outline rectangle around it (None: none)
    fill: str | None = None  # colour of a filled box behind it (None: none)


@dataclass(frozen=True)
class Style:
    """How a scenario looks and sounds.  The defaults are the classic look every recipe of the
    job tests and the tuning family uses; the held-out family (:mod:`vidq.testing.heldout`)
    changes every field."""

    voice: str = "en-us"  # espeak-ng voice (with +variant) of the programme, needles and sponsor read
    wpm: int = 150  # espeak-ng speed, words per minute
    fonts: tuple[str, ...] = ()  # programme font file names, the first installed wins (() -> DejaVu Sans Mono Bold)
    ad_fonts: tuple[str, ...] = ()  # the same for the ad cards
    speech_db: float = PROGRAMME_SPEECH_DB  # programme speech, dBFS RMS
    bed_db: float = BED_DB  # programme music bed, dBFS RMS
    bed_chord: tuple[float, ...] = (196.0, 247.0, 294.0)  # bed notes, Hz
    bed_note: float = 1.5  # seconds per bed note
    noise_db: float | None = None  # white-noise floor under the whole track (None: black is digital silence)
    black: float = BLACK  # seconds of each black separator
    caption: TextLook = TextLook(16, "white", "black@0.7", "12", "h-34")  # a topic's title at its start
    caption_seconds: float = CAPTION_SECONDS
    sign: TextLook = TextLook(22, "0x101010", "0xf0f0e0", "(w-text_w)/2", "(h-text_h)/2-10")  # screen needles
    sign_seconds: float = SIGN_SECONDS
    logo: Logo | None = Logo()  # None: no station logo at all
    panel: float = 1 / 3  # the moving pattern's size, a fraction of the frame's width and height (1: full frame)
    motion: str = "slide"  # the pattern panel: slide (left-right) | rise (up-down) | orbit | bounce | still
    shot_seconds: float = 0.0  # programme shots cut about this often inside a topic (0: one shot per topic)


CLASSIC_STYLE = Style()


@dataclass(frozen=True)
class Ad:
    brand: str  # label in the ground truth
    speech: str  # what the spot says
    cards: tuple[str, ...]  # on-screen texts, one card each, cycling
    colors: tuple[str, ...]  # card backgrounds, one per card
    framing: str  # "full", "pillarbox" (4:3 in 16:9), "letterbox" (2.35:1) or "windowbox" (black on all four sides)
    category: str = ""  # what is advertised, as a user names it ("soda"): the truth's `category`
    query: str = ""  # what a user types to find the spot ("" -> "ad for <category>")
    avoid: tuple[str, ...] = ()  # words the spot never says or shows (its category and near synonyms)
    voice: str = ""  # espeak-ng voice of the spot ("" -> the scenario's)
    wpm: int = 0  # espeak-ng speed (0 -> the scenario's)
    loud_db: float = AD_SPEECH_DB - PROGRAMME_SPEECH_DB  # the spot's speech level above the programme's speech
    bed_db: float = AD_BED_DB  # jingle bed, dBFS RMS
    jingle: tuple[float, ...] = (523.0, 659.0, 784.0, 1047.0)  # jingle notes, Hz
    note: float = 0.25  # seconds per jingle note
    lead: float = 0.8  # seconds from the spot's first frame to its first word
    seconds: float = 0.0  # the spot's minimum length (0 -> the recipe's spot_seconds)
    card_seconds: float = 2.0  # a new card (a hard cut inside the spot) about this often
    saturation: float = 1.0  # colour saturation of the whole spot (1.0: as the colours say)
    keeps_logo: bool = False  # the station logo stays on screen during the spot
    text: TextLook = TextLook(26, "white", "black@0.5", "(w-text_w)/2", "(h-text_h)/2")  # the cards' text
    mover: bool = True  # a white square jumps around the card (every frame differs)

    @property
    def search(self) -> str:
        """The query that should find this spot."""
        return self.query or f"ad for {self.category}"


ADS: dict[str, Ad] = {
    "fizz": Ad("Fizz Cola", "Ice-cold Fizz Cola, only 1.99! Visit fizzcola dot com and use code FIZZ10.",
               ("FIZZ COLA", "ONLY $1.99", "fizzcola.com", "CODE FIZZ10"), ("0xff1010", "0xffd000", "0xff1010", "0xff00a0"),
               "full", category="soda"),
    "nova": Ad("Nova Mobile", "Switch to Nova Mobile today. Unlimited data for just 15 dollars a month.",
               ("NOVA MOBILE", "$15 A MONTH", "UNLIMITED DATA"), ("0x00e0ff", "0xff00ff", "0x00ff60"), "pillarbox",
               category="phone plan", query="ad for a phone plan"),
    "oats": Ad("Crunchy Oats", "New Crunchy Oats, the breakfast of champions, now with twice the honey.",
               ("CRUNCHY OATS", "2X HONEY", "BREAKFAST!"), ("0xff8000", "0x40ff00", "0xffe000"), "letterbox",
               category="cereal"),
    "sunny": Ad("Sunny Bank", "Sunny Bank home loans from 3.9 percent. Apply online at sunnybank dot com today.",
                ("SUNNY BANK", "3.9% HOME LOANS", "sunnybank.com"), ("0xffee00", "0x0080ff", "0xffee00"), "full",
                category="mortgage", query="ad for a mortgage"),
}


@dataclass(frozen=True)
class Sponsor:
    brand: str  # label in the ground truth
    text: str  # the read, spoken at programme level over the programme's picture


SPONSOR_READ = ("This video is sponsored by Brightpath VPN. Brightpath keeps your browsing private on every device. "
                "Go to brightpath dot com slash vidq and use code VIDQ for sixty percent off your first year.")
SPONSOR_BRAND = "Brightpath VPN"
SPONSOR = Sponsor(SPONSOR_BRAND, SPONSOR_READ)


# -- plain data of a built scenario ----------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """One thing in a scenario's ground truth."""

    start: float  # seconds
    end: float  # seconds
    kind: str  # topic | speech | screen | needle | ad | ad_break | black | sponsor | tail
    text: str = ""  # what is said or shown (topic: its title; ad_break: brands joined by ", ")
    label: str = ""  # speech: programme|needle|ad|sponsor; screen: caption|sign|ad|logo; ad: brand; tail: bed|quiet
    channel: str = ""  # needle / sponsor: "speech" or "screen"
    query: str = ""  # needle / ad: what a user would search for
    category: str = ""  # ad: what it advertises; ad_break: its spots' categories joined by ", "


@dataclass(frozen=True)
class QAItem:
    """A multiple-choice question about something said in the video."""

    question: str  # the question
    options: tuple[str, ...]  # four options, in the order shown
    answer: str  # the correct option's letter, "A".."D"
    start: float  # seconds: the sentence that answers it
    end: float  # seconds

    def choices(self) -> list[str]:
        """Options as ``--choices`` strings: ``"A) 1887"``."""
        return [f"{LETTERS[i]}) {opt}" for i, opt in enumerate(self.options)]


@dataclass(frozen=True)
class Scenario:
    """A generated video and its ground truth."""

    name: str  # e.g. "short", "hour", "heldout-03"
    video: Path  # the .mp4
    truth: Path  # the .json beside it
    duration: float  # seconds
    size: tuple[int, int]  # (width, height)
    fps: float  # frames per second
    events: tuple[Event, ...] = ()  # time order
    qa: tuple[QAItem, ...] = ()  # questions about the programme's speech
    build_seconds: float = 0.0  # wall time of the build that made the files (0.0: unknown)
    family: str = ""  # "tuning" | "heldout" | "fresh" for the evaluation families ("" for the job tests' scenarios)
    info: dict = field(default_factory=dict)  # how it was made: voices, speeds, fonts (JSON-able)

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    @property
    def needles(self) -> list[Event]:
        return self.of_kind("needle")

    @property
    def ad_breaks(self) -> list[Event]:
        return self.of_kind("ad_break")

    @property
    def ads(self) -> list[Event]:
        return self.of_kind("ad")

    @property
    def sponsors(self) -> list[Event]:
        return self.of_kind("sponsor")

    @property
    def topics(self) -> list[Event]:
        return self.of_kind("topic")

    @property
    def topic_changes(self) -> list[float]:
        """Start times of every topic after the first: where chapters should begin."""
        return [e.start for e in self.topics[1:]]

    @property
    def inserted(self) -> list[tuple[float, float]]:
        """Every interval that is not programme: ad breaks and sponsor reads, in time order."""
        return sorted((e.start, e.end) for e in self.events if e.kind in ("ad_break", "sponsor"))


# -- recipes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BreakSpec:
    topic: int  # index into the recipe's topics: the break interrupts this topic
    offset: float  # seconds into the topic's programme time (0: at the topic change, before its caption)
    ads: tuple[Ad, ...]  # the spots, in airing order
    edges: str = "black"  # "black": black frames open and close the break; "cut": hard cuts from/to the programme
    between: str = "black"  # "black" separators between spots, or "cut" (hard cuts)
    black: float = 0.0  # seconds of each black separator (0 -> the style's)
    tail: float = 0.0  # seconds before the break with no narration (only the bed, or quiet)
    tail_bed: bool = True  # the music bed plays on through the tail (False: it fades out: near silence)
    resume: float = 0.0  # extra seconds after the break before narration resumes


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a scenario's content (its digest names the cache entry)."""

    name: str
    topics: tuple[Topic, ...]  # in order
    topic_seconds: float  # programme seconds per topic
    needles: tuple[tuple[Needle, float], ...]  # (needle, depth as a fraction of the programme time)
    breaks: tuple[BreakSpec, ...] = ()
    sponsor: tuple[int, float] | None = None  # (topic index into `topics`, offset seconds) of the sponsor read
    sponsor_read: Sponsor = SPONSOR  # what is read there
    gap: tuple[float, float] = (1.5, 3.0)  # seconds of pause between programme sentences (uniform range)
    spot_seconds: float = 12.0  # minimum length of an ad spot (an Ad's own `seconds` wins)
    seed: int = 0
    family: str = ""  # "tuning" | "heldout" | "fresh" (recorded in the truth)
    style: Style = CLASSIC_STYLE
    version: int = RECIPE_VERSION

    def digest(self) -> str:
        """16 hex digits over the whole recipe (content and style) and the font files it resolves to."""
        fonts = [Path(p).name for p in style_fonts(self.style)]
        payload = json.dumps({"recipe": asdict(self), "fonts": fonts}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def short_recipe() -> Recipe:
    """About 3 minutes: 3 topics of 50 s, 4 needles, one break of two spots, one sponsor read."""
    return Recipe(
        name="short", topics=TOPICS[:3], topic_seconds=50.0,
        needles=((NEEDLES[0], 0.12), (NEEDLES[1], 0.25), (NEEDLES[2], 0.80), (NEEDLES[3], 0.90)),
        breaks=(BreakSpec(topic=1, offset=15.0, ads=(ADS["fizz"], ADS["nova"])),),
        sponsor=(2, 5.0), gap=(1.2, 2.0),
    )


def hour_recipe(minutes: float = 60.0) -> Recipe:
    """About ``minutes`` of programme in 12 topics, 10 needles at 10 depths, 3 breaks, a sponsor read."""
    per_topic = minutes * 60.0 / len(TOPICS)
    return Recipe(
        name="hour" if minutes == 60.0 else f"hour{minutes:g}", topics=TOPICS,
        topic_seconds=per_topic,
        needles=tuple((n, (k + 0.5) / len(NEEDLES)) for k, n in enumerate(NEEDLES)),
        breaks=(BreakSpec(3, per_topic / 2, (ADS["fizz"], ADS["nova"])),
                BreakSpec(6, per_topic / 2, (ADS["oats"], ADS["sunny"])),
                BreakSpec(10, per_topic / 2, (ADS["fizz"],))),
        sponsor=(8, per_topic / 4), gap=(2.0, 5.0), spot_seconds=15.0,
    )


def short_scenario(cache_dir: str | os.PathLike) -> Scenario:
    """Build (or load from ``cache_dir``) the short scenario."""
    return build_scenario(cache_dir, short_recipe())


def hour_scenario(cache_dir: str | os.PathLike, minutes: float = 60.0) -> Scenario:
    """Build (or load from ``cache_dir``) the hour-scale scenario."""
    return build_scenario(cache_dir, hour_recipe(minutes))


def load_scenario(truth: str | os.PathLike) -> Scenario:
    """Read a scenario back from its truth JSON (schema 1 or 2)."""
    path = Path(truth)
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") not in READABLE_SCHEMAS:
        raise ValueError(f"{path}: not a {SCHEMA} file")
    return Scenario(
        name=data["name"], video=path.with_name(data["video"]), truth=path, duration=float(data["duration"]),
        size=(int(data["size"][0]), int(data["size"][1])), fps=float(data["fps"]),
        events=tuple(Event(**e) for e in data["events"]),
        qa=tuple(QAItem(q["question"], tuple(q["options"]), q["answer"], q["start"], q["end"]) for q in data["qa"]),
        build_seconds=float(data.get("build_seconds", 0.0)), family=data.get("family", ""),
        info=data.get("info", {}),
    )


# -- building ---------------------------------------------------------------------------------
@dataclass
class _Piece:
    """One separately encoded stretch of video."""

    kind: str  # programme | black | ad
    start: float  # seconds on the final timeline
    duration: float  # seconds, a whole number of frames
    topic: int = -1  # programme: index into the recipe's topics
    overlays: list[tuple[float, float, str, str]] = field(default_factory=list)  # (start, end, text, style) piece-local
    ad: Ad | None = None  # ad: the spot
    seed: int = 0
    shot: int = 0  # programme: 0 for a topic's first shot, 1, 2, ... for the cuts inside it


def _frames(seconds: float) -> int:
    return max(1, round(seconds * FPS))


def _snap(seconds: float) -> float:
    return _frames(seconds) * FRAME


def style_fonts(style: Style) -> tuple[str, str]:
    """The programme and ad font files of ``style``: the first of each list that is installed."""
    return _font_file(style.fonts), _font_file(style.ad_fonts)


def _font_file(names: Sequence[str]) -> str:
    if not names:
        return find_font()
    for name in names:
        for folder in FONT_DIRS:
            path = Path(folder) / name
            if path.is_file():
                return str(path)
    raise RuntimeError(f"none of the fonts {', '.join(names)} is installed "
                       "(apt-get install fonts-dejavu-core fonts-dejavu-extra fonts-liberation)")


def build_scenario(cache_dir: str | os.PathLike, recipe: Recipe) -> Scenario:
    """Render ``recipe`` into ``cache_dir/<name>-<digest>.mp4`` + ``.json`` (or load them if present)."""
    out_dir = Path(cache_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{recipe.name}-{recipe.digest()}"
    video, truth = out_dir / f"{stem}.mp4", out_dir / f"{stem}.json"
    if video.is_file() and truth.is_file():
        return load_scenario(truth)
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (apt-get install {tool})")
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f".{stem}.", dir=out_dir))
    try:
        scenario = _build(recipe, work, video, truth)
        scenario = dataclasses.replace(scenario, build_seconds=round(time.perf_counter() - t0, 2))
        _write_truth(scenario, stem)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return scenario


def plan_scenario(recipe: Recipe) -> Scenario:
    """The scenario ``recipe`` builds, without rendering any media: its truth, for checks of the layout.

    Only espeak-ng runs (the lengths of the sentences decide where everything goes); the
    returned paths name the files ``build_scenario`` would write, relative to its cache dir.
    """
    stem = f"{recipe.name}-{recipe.digest()}"
    return _build(recipe, None, Path(f"{stem}.mp4"), Path(f"{stem}.json"))


def _speak_all(texts: Sequence[tuple[str, str, int]]) -> dict[str, np.ndarray]:
    """espeak-ng every distinct ``(text, voice, wpm)`` (in parallel), resampled to SAMPLE_RATE; keyed by text."""
    unique = list(dict.fromkeys(texts))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        voices = list(pool.map(lambda item: espeak(item[0], voice=item[1], wpm=item[2]), unique))
    out = {}
    for (text, _, _), audio in zip(unique, voices):
        n = round(audio.size * SAMPLE_RATE / ESPEAK_RATE)
        resampled = np.interp(np.arange(n) * (ESPEAK_RATE / SAMPLE_RATE), np.arange(audio.size), audio)
        out[text] = resampled.astype(np.float32)
    return out


def _at_level(audio: np.ndarray, db: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) or 1.0
    return (audio * (10 ** (db / 20) / rms)).astype(np.float32)


def _break_window(bp: float, brk: BreakSpec) -> tuple[float, float]:
    """Programme time around break point ``bp`` that programme narration keeps out of."""
    return bp - brk.tail - 0.5, bp + 0.5 + brk.resume


def _build(recipe: Recipe, work: Path | None, video: Path, truth: Path) -> Scenario:
    """Lay out ``recipe``, make its audio and, when ``work`` is a folder, render ``video`` there."""
    rng = random.Random(recipe.seed)
    style = recipe.style
    topics = recipe.topics
    sponsor = recipe.sponsor_read
    said = [(s, style.voice, style.wpm) for t in topics for s in t.sentences]
    said += [(n.text, style.voice, style.wpm) for n, _ in recipe.needles if n.channel == "speech"]
    said += [(a.speech, a.voice or style.voice, a.wpm or style.wpm) for b in recipe.breaks for a in b.ads]
    if recipe.sponsor is not None:
        said.append((sponsor.text, style.voice, style.wpm))
    t0 = time.perf_counter()
    voice = _speak_all(said)
    log.debug("scenario %s: espeak-ng %.1f s", recipe.name, time.perf_counter() - t0)
    t0 = time.perf_counter()

    programme_total = recipe.topic_seconds * len(topics)
    # Where fixed items sit, on the programme clock (seconds of programme, breaks excluded).
    fixed: list[tuple[float, float, str, str, str, str]] = []  # (p_start, p_end, kind, text, channel, query)
    if recipe.sponsor is not None:
        ti, off = recipe.sponsor
        p = ti * recipe.topic_seconds + off
        fixed.append((p, p + voice[sponsor.text].size / SAMPLE_RATE, "sponsor", sponsor.text, "speech", ""))
    break_points = sorted(((b.topic * recipe.topic_seconds + b.offset, b) for b in recipe.breaks), key=lambda x: x[0])
    windows = [_break_window(bp, b) for bp, b in break_points]
    for needle, depth in recipe.needles:
        length = voice[needle.text].size / SAMPLE_RATE if needle.channel == "speech" else style.sign_seconds
        p = _snap(depth * programme_total)
        p = _free_spot(p, length, fixed, windows, recipe.topic_seconds, programme_total, style.caption_seconds)
        fixed.append((p, p + length, "needle", needle.text, needle.channel, needle.query))
    fixed.sort()

    # Programme speech: each topic's sentences in order (cycling), in the gaps between fixed speech.
    speech_plan: list[tuple[float, str, str]] = []  # (p_start, text, label)
    for ti, topic in enumerate(topics):
        t = ti * recipe.topic_seconds + 1.0
        end = (ti + 1) * recipe.topic_seconds - 1.0
        k = 0
        while True:
            text = topic.sentences[k % len(topic.sentences)]
            length = voice[text].size / SAMPLE_RATE
            if t + length > end:
                break
            resume = [f[1] + 1.0 for f in fixed if f[4] == "speech" and f[0] - 0.8 < t + length and t < f[1] + 0.8]
            resume += [w1 + 0.5 for w0, w1 in windows if t < w1 and t + length > w0]
            if resume:
                t = max(resume)
                continue
            speech_plan.append((t, text, "programme"))
            t += length + rng.uniform(*recipe.gap)
            k += 1
    for f in fixed:
        if f[4] == "speech":
            speech_plan.append((f[0], f[3], "sponsor" if f[2] == "sponsor" else "needle"))

    # Timeline: programme pieces split at breaks (and at shot cuts inside topics);
    # a break is [black] spot [black|cut] spot ... [black].
    pieces: list[_Piece] = []
    events: list[Event] = []
    clock = 0.0  # final timeline
    topic_starts = {ti * recipe.topic_seconds for ti in range(len(topics))}
    shot_cuts = _shot_cuts(recipe, rng) if style.shot_seconds > 0 else set()
    cuts = sorted(topic_starts | {bp for bp, _ in break_points} | shot_cuts)
    cuts.append(programme_total)
    breaks_at = {bp: b for bp, b in break_points}
    spot_len = {ad.brand: _snap(max(ad.seconds or recipe.spot_seconds, ad.lead + voice[ad.speech].size / SAMPLE_RATE + 1.2))
                for b in recipe.breaks for ad in b.ads}
    ad_speech: list[tuple[float, str, float]] = []  # (final time, text, level dB) of each spot's speech
    tails: list[tuple[float, float, bool]] = []  # (start, end, bed plays on) on the final timeline
    offsets: list[tuple[float, float]] = []  # (programme time, shift added by the breaks before it)
    shift = 0.0
    shot = 0
    for a, b in itertools.pairwise(cuts):
        if a in breaks_at:
            brk = breaks_at[a]
            black = brk.black or style.black
            b_start = clock
            if brk.tail > 0:
                tails.append((b_start - brk.tail, b_start, brk.tail_bed))
                events.append(Event(b_start - brk.tail, b_start, "tail", "", "bed" if brk.tail_bed else "quiet"))
            for j, ad in enumerate(brk.ads):
                if (brk.edges if j == 0 else brk.between) == "black":
                    pieces.append(_Piece("black", clock, black))
                    events.append(Event(clock, clock + black, "black"))
                    clock += black
                length = spot_len[ad.brand]
                pieces.append(_Piece("ad", clock, length, ad=ad))
                s0 = clock + ad.lead
                s1 = s0 + voice[ad.speech].size / SAMPLE_RATE
                events.append(Event(clock, clock + length, "ad", ad.speech, ad.brand, query=ad.search,
                                    category=ad.category))
                events.append(Event(s0, s1, "speech", ad.speech, "ad"))
                ad_speech.append((s0, ad.speech, style.speech_db + ad.loud_db))
                n_cards = max(1, round(length / ad.card_seconds))
                card_len = length / n_cards
                for c in range(n_cards):
                    events.append(Event(clock + c * card_len, clock + (c + 1) * card_len, "screen",
                                        ad.cards[c % len(ad.cards)], "ad"))
                clock += length
            if brk.edges == "black":
                pieces.append(_Piece("black", clock, black))
                events.append(Event(clock, clock + black, "black"))
                clock += black
            events.append(Event(b_start, clock, "ad_break", ", ".join(ad.brand for ad in brk.ads),
                                category=", ".join(ad.category for ad in brk.ads)))
            shift += clock - b_start
        offsets.append((a, shift))
        ti = min(int(a // recipe.topic_seconds), len(topics) - 1)
        shot = 0 if a in topic_starts else shot + (a in shot_cuts)
        piece = _Piece("programme", clock, _snap(b - a), topic=ti, seed=len(pieces), shot=shot)
        pieces.append(piece)
        clock += piece.duration
    duration = clock

    def final(p: float) -> float:
        s = 0.0
        for a, sh in offsets:
            if p >= a - 1e-9:
                s = sh
        return p + s

    # On-screen programme text: captions at topic starts, signs for screen needles, the logo.
    for ti, topic in enumerate(topics):
        p0 = ti * recipe.topic_seconds
        events.append(Event(final(p0), final(p0 + recipe.topic_seconds), "topic", topic.title))
        _overlay(pieces, final(p0), final(p0) + style.caption_seconds, topic.title.upper(), "caption")
        events.append(Event(final(p0), final(p0) + style.caption_seconds, "screen", topic.title.upper(), "caption"))
    for p_start, p_end, kind, text, channel, query in fixed:
        s, e = final(p_start), final(p_end)
        if kind == "needle":
            events.append(Event(s, e, "needle", text, channel=channel, query=query))
            if channel == "screen":
                _overlay(pieces, s, e, text, "sign")
                events.append(Event(s, e, "screen", text, "sign"))
        else:
            events.append(Event(s, e, "sponsor", text, sponsor.brand, channel="speech"))
    if style.logo is not None:
        for piece in pieces:
            if piece.kind == "programme" or (piece.kind == "ad" and piece.ad is not None and piece.ad.keeps_logo):
                events.append(Event(piece.start, piece.start + piece.duration, "screen", style.logo.text, "logo"))

    # Audio: beds, then speech at its level, then the noise floor.
    track = np.zeros(round(duration * SAMPLE_RATE), np.float32)
    for piece in pieces:
        a, b = round(piece.start * SAMPLE_RATE), round((piece.start + piece.duration) * SAMPLE_RATE)
        if piece.kind == "programme":
            track[a:b] += _bed(b - a, a, style.bed_db, style.bed_chord, style.bed_note)
        elif piece.kind == "ad" and piece.ad is not None:
            track[a:b] += _bed(b - a, a, piece.ad.bed_db, piece.ad.jingle, piece.ad.note)
    for start, end, bed in tails:
        if not bed:  # the bed fades out over 0.5 s and stays out until the break
            a, b = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
            track[a:b] *= np.clip(1.0 - np.arange(b - a) / (0.5 * SAMPLE_RATE), 0.0, 1.0).astype(np.float32)
    qa: list[QAItem] = []
    spoken_at: dict[str, tuple[float, float]] = {}
    placed = [(final(p), text, label, style.speech_db) for p, text, label in speech_plan]
    placed += [(t, x, "ad", db) for t, x, db in ad_speech]
    for start, text, label, db in placed:
        clip = _at_level(voice[text], db)
        i = round(start * SAMPLE_RATE)
        j = min(track.size, i + clip.size)
        track[i:j] += clip[:j - i]
        end = start + clip.size / SAMPLE_RATE
        if label != "ad":  # ad speech events were recorded with their spots
            events.append(Event(start, end, "speech", text, label))
        spoken_at.setdefault(text, (start, end))
    if style.noise_db is not None:
        noise = np.random.default_rng(recipe.seed).standard_normal(track.size).astype(np.float32)
        track += noise * np.float32(10 ** (style.noise_db / 20))
    for topic in topics:
        for k, question, options in topic.questions:
            sentence = topic.sentences[k]
            if sentence not in spoken_at:
                continue
            order = list(range(4))
            rng.shuffle(order)
            shown = tuple(options[o] for o in order)
            qa.append(QAItem(question, shown, LETTERS[order.index(0)], *spoken_at[sentence]))
    np.clip(track, -1.0, 1.0, out=track)

    log.debug("scenario %s: layout and audio %.1f s", recipe.name, time.perf_counter() - t0)
    t0 = time.perf_counter()
    fonts = style_fonts(style)
    if work is not None:
        _render(pieces, recipe, fonts, track, work, video)
        log.debug("scenario %s: ffmpeg %.1f s", recipe.name, time.perf_counter() - t0)
    events = [dataclasses.replace(e, start=round(e.start, 3), end=round(e.end, 3)) for e in events]
    events.sort(key=lambda e: (e.start, e.kind, e.end))
    qa = [QAItem(q.question, q.options, q.answer, round(q.start, 3), round(q.end, 3)) for q in qa]
    info = {"voice": style.voice, "wpm": style.wpm, "font": Path(fonts[0]).name, "ad_font": Path(fonts[1]).name,
            "ad_voices": {ad.brand: ad.voice or style.voice for b in recipe.breaks for ad in b.ads}}
    avoid = {ad.brand: list(ad.avoid) for b in recipe.breaks for ad in b.ads if ad.avoid}
    if avoid:  # the words each spot never says or shows
        info["ad_avoid"] = avoid
    return Scenario(name=recipe.name, video=video, truth=truth, duration=round(duration, 6), size=SIZE, fps=FPS,
                    events=tuple(events), qa=tuple(qa), family=recipe.family, info=info)


def _shot_cuts(recipe: Recipe, rng: random.Random) -> set[float]:
    """Programme times of cuts inside topics, about every ``style.shot_seconds``, clear of captions and breaks."""
    style = recipe.style
    cuts: set[float] = set()
    for ti in range(len(recipe.topics)):
        t = ti * recipe.topic_seconds + style.caption_seconds + rng.uniform(0.5, 1.0) * style.shot_seconds
        while t < (ti + 1) * recipe.topic_seconds - 3.0:
            if all(abs(t - (b.topic * recipe.topic_seconds + b.offset)) > 3.0 for b in recipe.breaks):
                cuts.add(_snap(t))
            t += rng.uniform(0.6, 1.4) * style.shot_seconds
    return cuts


def _free_spot(p: float, length: float, fixed, windows: Sequence[tuple[float, float]], topic_seconds: float,
               total: float, caption_seconds: float = CAPTION_SECONDS) -> float:
    """The first programme time >= ``p`` where ``length`` seconds fit clear of other items, break windows and captions."""
    t = p
    for _ in range(1000):
        topic_start = (t // topic_seconds) * topic_seconds
        bad = t < topic_start + caption_seconds + 1.0 or t + length > topic_start + topic_seconds - 1.0
        bad = bad or any(f[0] - 2.0 < t + length and t < f[1] + 2.0 for f in fixed)
        bad = bad or any(w0 - 1.5 < t + length and t < w1 + 1.5 for w0, w1 in windows)
        if not bad:
            return _snap(t)
        t += 1.0
        if t + length > total:
            t = 0.0
    raise ValueError("no room for a needle; make the topics longer")


def _overlay(pieces: list[_Piece], start: float, end: float, text: str, style: str) -> None:
    """Put ``text`` on every programme piece that ``[start, end)`` covers (piece-local times)."""
    placed = False
    for piece in pieces:
        p0, p1 = piece.start, piece.start + piece.duration
        if piece.kind == "programme" and start < p1 - 1e-9 and end > p0 + 1e-9:
            piece.overlays.append((max(start, p0) - p0, min(end, p1) - p0, text, style))
            placed = True
    if not placed:
        raise ValueError(f"no programme piece at {start:.1f} s for {text!r}")


def _bed(n: int, offset: int, db: float, freqs: Sequence[float], note: float) -> np.ndarray:
    """A soft chord (programme) or arpeggio (ad jingle): one tone of ``freqs`` per ``note`` seconds.

    One cycle through the notes is synthesised and tiled (``offset`` samples into it), so
    an hour of bed costs as much as a few seconds.
    """
    cycle = round(note * len(freqs) * SAMPLE_RATE)
    t = np.arange(cycle, dtype=np.float64) / SAMPLE_RATE
    which = (t // note).astype(np.int64) % len(freqs)
    tone = np.zeros(cycle)
    for k, f in enumerate(freqs):
        sel = which == k
        tone[sel] = np.sin(2 * np.pi * f * t[sel]) + 0.5 * np.sin(2 * np.pi * 2 * f * t[sel])
    tone = (tone * (10 ** (db / 20) / (np.sqrt(np.mean(tone ** 2)) or 1.0))).astype(np.float32)
    start = offset % cycle
    reps = (start + n) // cycle + 1
    return np.tile(tone, reps)[start:start + n]


# -- rendering ------------------------------------------------------------------------------------
def _escape(path: Path | str) -> str:
    return "'" + str(path).replace("\\", "/").replace("'", r"'\''").replace(":", r"\:") + "'"


def _text_filter(font: str, text_file: Path, look: TextLook, enable: tuple[float, float] | None = None) -> str:
    f = (f"drawtext=fontfile={_escape(font)}:textfile={_escape(text_file)}:fontsize={look.size}"
         f":fontcolor={look.color}:x={look.x}:y={look.y}")
    if look.box:
        f += f":box=1:boxcolor={look.box}:boxborderw={max(2, look.size // 4)}"
    if look.border:
        f += f":borderw={look.border}:bordercolor=black"
    if enable:
        f += f":enable='between(t\\,{enable[0]:.3f}\\,{enable[1] - 1e-3:.3f})'"
    return f


def _fit(look: TextLook, text: str, width: int, font: str) -> TextLook:
    """``look`` with its size cut so that ``text`` fits ``width`` pixels (with 8 px to spare on each side)."""
    em = 0.6 if "Mono" in Path(font).name else 0.7  # average glyph width of capitals, in font sizes
    size = min(look.size, int((width - 16) / (em * max(1, len(text)))))
    return look if size == look.size else dataclasses.replace(look, size=max(8, size))


def _logo_filters(logo: Logo, font: str, work: Path, idx: int) -> str:
    """drawbox + drawtext for the station logo in its corner (the classic: "VQ" in a white frame, top right).

    The text file is the ``idx``-th piece's own: pieces are encoded in parallel, and a shared file
    rewritten by one thread while another's ffmpeg reads it drew the frame without the text.
    """
    bw, bh = round(len(logo.text) * logo.size * 0.6) + 22, logo.size + 7  # the frame around the text
    right, bottom = logo.corner[1] == "r", logo.corner[0] == "b"
    box_x, text_x = (f"iw-{bw + 6}", f"w-{bw}") if right else ("6", "12")
    box_y, text_y = (f"ih-{bh + 6}", f"h-{bh + 3}") if bottom else ("6", "9")
    path = work / f"logo{idx}.txt"
    path.write_text(logo.text, encoding="utf-8")
    out = []
    if logo.frame:
        out.append(f"drawbox=x={box_x}:y={box_y}:w={bw}:h={bh}:color={logo.frame}:t=2")
    out.append(_text_filter(font, path, TextLook(logo.size, logo.color, logo.fill, text_x, text_y)))
    return ",".join(out)


def _pattern(kind: str, pw: int, ph: int, d: str, seed: int) -> str:
    """The moving foreground of a programme shot, ``pw`` x ``ph`` pixels, ``d`` seconds."""
    if kind == "life":
        return f"life=s={pw}x{ph}:r={FPS}:ratio=0.3:seed={seed}:mold=8:life_color=0xc8c8c8:death_color=0x202020"
    if kind == "grid":
        return f"color=c=0xb0b0b0:s={pw}x{ph}:r={FPS}:d={d},drawgrid=w={pw // 6}:h={ph // 6}:t=2:c=0x303030"
    if kind == "bars":
        return f"smptebars=s={pw}x{ph}:r={FPS}:d={d},hue=s=0.35"
    if kind == "gradient":  # explicit colours: gradients' default ones are drawn at random on every run
        c0, c1 = GRADIENT_COLORS[seed % len(GRADIENT_COLORS)], GRADIENT_COLORS[(seed + 3) % len(GRADIENT_COLORS)]
        return f"gradients=s={pw}x{ph}:r={FPS}:d={d}:speed=0.02:seed={seed}:c0={c0}:c1={c1},hue=s=0.4"
    if kind == "cellauto":
        return f"cellauto=s={pw}x{ph}:r={FPS}:rule={[30, 90, 110, 150][seed % 4]}:seed={seed},negate,hue=s=0"
    if kind == "mandelbrot":
        return f"mandelbrot=s={pw}x{ph}:r={FPS}:end_scale=0.05:end_pts=600,hue=s=0.5"
    if kind == "sierpinski":
        return f"sierpinski=s={pw}x{ph}:r={FPS}:seed={seed}:jump=1:type={['carpet', 'triangle'][seed % 2]}"
    if kind == "testsrc":  # the lower right quarter of a test card twice the size: no burned-in clock
        return f"testsrc2=s={2 * pw}x{2 * ph}:r={FPS}:d={d},crop={pw}:{ph}:{pw}:{ph},hue=s=0.3"
    if kind == "spectrum":  # a colour spectrum whose hues rotate
        return f"colorspectrum=s={pw}x{ph}:r={FPS}:d={d}:type=all,hue=h=t*{20 + 10 * (seed % 4)}:s=0.6"
    if kind == "chart":  # a colour checker chart scrolling sideways
        return (f"colorchart=r={FPS}:d={d}:patch_size=32x32:preset={['reference', 'skintones'][seed % 2]},"
                f"scale={pw}:{ph},scroll=h={0.01 + 0.005 * (seed % 3):.3f},hue=s=0.5")
    if kind == "plasma":  # interfering sine waves that drift
        return (f"nullsrc=s={pw}x{ph}:r={FPS}:d={d},format=yuv420p,geq=lum='128+90*sin(X/{6 + seed % 5}+T*2)"
                f"*cos(Y/{5 + seed % 3}-T*1.3)':cb='128+30*sin(T+X/40)':cr='128+30*cos(Y/25-T)'")
    if kind == "rgbscroll":  # an RGB test pattern scrolling upwards
        return f"rgbtestsrc=s={pw}x{ph}:r={FPS}:d={d},scroll=v={0.02 + 0.01 * (seed % 3):.2f},hue=s=0.45"
    raise ValueError(f"unknown pattern {kind!r}")


def _shade(color: str, k: int) -> str:
    """Another background colour for the ``k``-th cut inside a topic: channels rotated, brighter or darker."""
    r, g, b = (int(color[2:][i:i + 2], 16) for i in (0, 2, 4))
    for _ in range(k % 3):
        r, g, b = g, b, r
    scale = 1.35 if k % 2 else 0.75
    return "0x" + "".join(f"{min(255, round(c * scale)):02x}" for c in (r, g, b))


def _programme_graph(piece: _Piece, recipe: Recipe, font: str, work: Path, idx: int) -> str:
    topic, style = recipe.topics[piece.topic], recipe.style
    w, h = SIZE
    n = _frames(piece.duration)
    d = f"{n * FRAME:.3f}"
    pw, ph = int(w * style.panel + 1e-9), int(h * style.panel + 1e-9)
    color = topic.color if piece.shot == 0 else _shade(topic.color, piece.shot)
    bg = f"color=c={color}:s={w}x{h}:r={FPS}:d={d}"
    seed = piece.topic * 7 + piece.seed + 1
    fg = _pattern(topic.pattern, pw, ph, d, seed)
    slot = piece.topic + piece.shot
    if pw >= w:
        x, y = "0", "0"
    elif style.motion == "slide":
        x, y = f"abs(mod(t*{w // 8}\\,2*(W-w))-(W-w))", str((h - ph) * (1 + slot % 2) // 3)
    elif style.motion == "rise":
        x, y = str((w - pw) * (1 + slot % 2) // 3), f"abs(mod(t*{h // 8}\\,2*(H-h))-(H-h))"
    elif style.motion == "orbit":  # around an ellipse through the frame's free space
        x, y = f"(W-w)/2*(1+cos(t*0.7+{slot}))", f"(H-h)/2*(1+sin(t*0.7+{slot}))"
    elif style.motion == "bounce":  # diagonally, off every edge
        x, y = f"abs(mod(t*{w // 7}+{slot * 17}\\,2*(W-w))-(W-w))", f"abs(mod(t*{h // 5}+{slot * 11}\\,2*(H-h))-(H-h))"
    else:
        x, y = str((w - pw) * (1 + slot % 3) // 4), str((h - ph) * (1 + slot % 2) // 3)
    chain = f"[b][f]overlay=x='{x}':y='{y}':shortest=1:eval=frame"
    if style.logo is not None:
        chain += "," + _logo_filters(style.logo, font, work, idx)
    for k, (s, e, text, kind) in enumerate(piece.overlays):
        tf = work / f"t{idx}_{k}.txt"
        tf.write_text(text, encoding="utf-8")
        look = _fit(style.caption if kind == "caption" else style.sign, text, w, font)
        chain += "," + _text_filter(font, tf, look, (s, e))
    return f"{bg}[b];{fg}[f];{chain},format=yuv420p[v]"


def _ad_graph(piece: _Piece, recipe: Recipe, fonts: tuple[str, str], work: Path, idx: int) -> str:
    ad = piece.ad
    assert ad is not None
    w, h = SIZE
    aw, ah = {"full": (w, h), "pillarbox": (240, h), "letterbox": (w, 136), "windowbox": (272, 152)}[ad.framing]
    n_cards = max(1, round(piece.duration / ad.card_seconds))
    frames = _frames(piece.duration)
    per = [frames // n_cards + (1 if c < frames % n_cards else 0) for c in range(n_cards)]
    parts, labels = [], []
    for c in range(n_cards):
        tf = work / f"a{idx}_{c}.txt"
        tf.write_text(ad.cards[c % len(ad.cards)], encoding="utf-8")
        color = ad.colors[c % len(ad.colors)]
        d = per[c] * FRAME
        text = _text_filter(fonts[1], tf, _fit(ad.text, ad.cards[c % len(ad.cards)], aw, fonts[1]))
        parts.append(f"color=c={color}:s={aw}x{ah}:r={FPS}:d={d:.3f}[k{c}]")
        if ad.mover:  # a white square jumping around: motion, so every frame differs
            parts.append(f"color=c=white:s=24x24:r={FPS}:d={d:.3f}[q{c}]")
            parts.append(f"[k{c}][q{c}]overlay=x='mod(n*37+{c * 50}\\,W-w)':y='mod(n*23+{c * 30}\\,H-h)'"
                         f":eval=frame:shortest=1,{text}[c{c}]")
        else:
            parts.append(f"[k{c}]{text}[c{c}]")
        labels.append(f"[c{c}]")
    chain = f"{''.join(labels)}concat=n={n_cards}:v=1:a=0"
    if (aw, ah) != (w, h):
        chain += f",pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:black"
    if ad.saturation != 1.0:
        chain += f",hue=s={ad.saturation:g}"
    if ad.keeps_logo and recipe.style.logo is not None:
        chain += "," + _logo_filters(recipe.style.logo, fonts[0], work, idx)
    return ";".join(parts) + f";{chain},format=yuv420p[v]"


def _encode_piece(piece: _Piece, recipe: Recipe, fonts: tuple[str, str], work: Path, idx: int) -> Path:
    out = work / f"p{idx:04d}.mp4"
    w, h = SIZE
    if piece.kind == "black":
        graph = f"color=c=black:s={w}x{h}:r={FPS}:d={piece.duration:.3f},format=yuv420p[v]"
    elif piece.kind == "ad":
        graph = _ad_graph(piece, recipe, fonts, work, idx)
    else:
        graph = _programme_graph(piece, recipe, fonts[0], work, idx)
    _run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-filter_complex", graph,
          "-map", "[v]", "-frames:v", str(_frames(piece.duration)), "-c:v", "libx264", "-preset", "ultrafast",
          "-crf", "26", "-g", str(GOP), "-bf", "0", "-threads", "1", "-r", str(FPS),
          "-video_track_timescale", str(FPS * 1000), str(out)])
    return out


def _render(pieces: list[_Piece], recipe: Recipe, fonts: tuple[str, str], track: np.ndarray, work: Path,
            video: Path) -> None:
    wav = work / "audio.wav"
    pcm = (np.clip(track, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(wav), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(SAMPLE_RATE)
        wf.writeframes(pcm.tobytes())
    m4a = work / "audio.m4a"
    # Pieces that look the same (a spot aired twice, black frames) are encoded once and reused.
    unique: dict[tuple, int] = {}
    jobs: list[tuple[_Piece, int]] = []
    order: list[int] = []
    for i, piece in enumerate(pieces):
        brand = piece.ad.brand if piece.ad is not None else ""
        key = (piece.kind, brand, round(piece.duration, 3)) if piece.kind in ("black", "ad") else ("p", i)
        if key not in unique:
            unique[key] = len(jobs)
            jobs.append((piece, len(jobs)))
        order.append(unique[key])
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        audio_job = pool.submit(_run, ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav),
                                       "-c:a", "aac", "-aac_coder", "fast", "-b:a", "48k", str(m4a)])
        files = list(pool.map(lambda job: _encode_piece(job[0], recipe, fonts, work, job[1]), jobs))
        audio_job.result()
    listing = work / "pieces.txt"
    listing.write_text("".join(f"file '{files[k].name}'\n" for k in order), encoding="utf-8")
    tmp = work / "out.mp4"
    _run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
          "-i", str(listing), "-i", str(m4a), "-map", "0:v", "-map", "1:a", "-c", "copy",
          "-movflags", "+faststart", str(tmp)])
    os.replace(tmp, video)


def _run(args: list[str]) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")


def _write_truth(scenario: Scenario, stem: str) -> None:
    data = {
        "schema": SCHEMA, "name": scenario.name, "video": scenario.video.name, "duration": scenario.duration,
        "size": list(scenario.size), "fps": scenario.fps, "build_seconds": scenario.build_seconds,
        "family": scenario.family, "info": scenario.info,
        "events": [asdict(e) for e in scenario.events],
        "qa": [{**asdict(q), "options": list(q.options)} for q in scenario.qa],
    }
    tmp = scenario.truth.with_name(f".{stem}.json.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, scenario.truth)
