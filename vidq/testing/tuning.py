"""The tuning family: the classic content in many looks, where thresholds and weights may be fitted.

    recipe = tuning_recipe(3)                  # file 3 of the family (deterministic from its index and seed)
    build_scenario(cache_dir, recipe)          # -> Scenario (video + truth JSON), cached by the recipe's digest

The first tuning family varied the classic scenarios (:mod:`vidq.testing.scenarios`) only by
seed, order and positions: every spot was saturated, logo-free, 9 dB louder, cut every 2 s
and set apart by black and digital silence, so every ad feature fired on every spot and a fit
there said nothing about other media (on the held-out family it found 6 of 11 breaks).  This
family keeps the classic *content* (its twelve topics, needles and QA) and varies, from a
palette of its own that shares no voice, font, caption look, logo or ad with the held-out
and fresh families, everything a broadcast varies:

**Voices and speech.**  Per file one of ten programme voices (espeak-ng's named variants
Andy, Annie, Ed, Belinda, Gene, Lee, Linda, Michael, Steph and Paul over ``en-us`` or
``en-gb``) at 130-185 wpm, programme speech at -27..-21 dBFS, a bed at -45..-36 dBFS with
one of three chords (none at all in files 2, 5 and 8 of each ten: speech over silence, as in
a talk or an interview, so every pause between sentences is a silence), a noise floor in
most files.  Each ad has its own announcer voice (Rob,
Alicia, Max, Zac or Shelby) and speed.

**Looks.**  Monospaced fonts (DejaVu Sans Mono and Liberation Mono, upright and oblique), four caption looks, three sign looks, the "VQ" logo in any corner, a filled
"TV1" or a translucent "ZED", or none; pattern panels from a quarter of the frame to all of
it, sliding, orbiting, bouncing or still; cuts inside a topic every 9-16 s in most files.

**Ads.**  The four classic spots (which name their products) and eight more that never say
or show their category (a garden shed, piano lessons, a dentist, a boat, fishing gear, a
wedding photographer, a wood stove, garden tools), each in one of several spot styles: saturated and cut
every 2 s, muted with the station logo kept, a single calm card, letter- or pillarboxed,
2 dB quieter to 10 dB louder than the programme.

**Breaks.**  Zero to two breaks of one to four spots; black or hard-cut edges and separators
(0.3-1.0 s of black); the narration stops 2-14 s before most breaks (a tail with the bed, or
near silence) and may resume a few seconds after; a spot may air in both breaks; breaks
sometimes at a topic change.  The classic sponsor read or one of three others worded
without "sponsored by", at any position.  File 7 (of each ten) has no ads.

Every recipe is a pure function of its index and the family seed.  Knows nothing about
vidq's decoders, models or jobs.
"""

from __future__ import annotations

import random
from dataclasses import replace

from vidq.testing.heldout import clamp_tail, clear_of_breaks, draw_programme, read_seconds
from vidq.testing.scenarios import (
    ADS as CLASSIC_ADS,
)
from vidq.testing.scenarios import (
    NEEDLES,
    SPONSOR,
    TOPICS,
    Ad,
    BreakSpec,
    Logo,
    Recipe,
    Sponsor,
    Style,
    TextLook,
)

FAMILY = "tuning"
DEFAULT_SEED = 1000  # file i's recipe uses seed DEFAULT_SEED + i
NO_AD_FILES = (7,)  # file indices (mod 10) without any ad
BEDLESS_FILES = (2, 5, 8)  # file indices (mod 10) whose programme speech has no music bed under it
NO_BED_DB = -100.0  # dBFS: the programme bed of those files (silent; the noise floor, if any, remains)
ABSENT_CATEGORIES = ("perfume", "a lawn mower")  # "ad for ..." queries no tuning file answers

_CENTRE = TextLook(24, "white", "black@0.5", "(w-text_w)/2", "(h-text_h)/2")
_LOW = TextLook(20, "0x202020", "0xf8f0d8@0.9", "(w-text_w)/2", "h-text_h-18")
_CORNER = TextLook(22, "0xc0ffc0", None, "w-text_w-14", "14", border=2)

NEW_ADS: tuple[Ad, ...] = (  # never say or show their category
    Ad("Quorvin", "Quorvin. Cedar walls, a roof that keeps out the rain, and a door wide enough for the mower. Built "
       "in your garden in a single day.", ("QUORVIN", "CEDAR BUILT", "UP IN ONE DAY"), ("0x6b8f3e", "0xd7c9a7",
                                                                                        "0x6b8f3e"),
       "full", category="garden shed", query="ad for a garden shed", avoid=("garden shed", "shed", "sheds", "outbuilding")),
    Ad("Tamblor Keys", "Learn your first song in a week. Tamblor sends a teacher to your home for weekly lessons "
       "at the keyboard.", ("TAMBLOR", "FIRST SONG IN A WEEK", "WEEKLY LESSONS"), ("0x2b2b52", "0xf0e6c8", "0x2b2b52"),
       "letterbox", category="piano lessons", query="ad for piano lessons", avoid=("piano lessons", "piano", "pianos", "pianist")),
    Ad("Brindlewick Dental", "A brighter smile in a single visit. Brindlewick checks, cleans and whitens, with "
       "evening appointments every weekday.", ("BRINDLEWICK", "WHITENING", "EVENING VISITS"),
       ("0x9ad0c8", "0xffffff", "0x9ad0c8"), "full", category="dentist", query="ad for a dentist",
       avoid=("dentist", "dentists", "dental clinic", "orthodontist")),
    Ad("Okapo", "Okapo. A fibreglass hull, a quiet outboard, and room for six on the lake this summer.",
       ("OKAPO", "FIBREGLASS HULL", "SEATS SIX"), ("0x0c4f6e", "0xe9f1f5", "0x0c4f6e"), "pillarbox",
       category="boat", query="ad for a boat", avoid=("boat", "boats", "yacht", "dinghy", "vessel")),
    Ad("Fennimore", "Cast further and feel every bite. Fennimore carbon rods and silent reels, tested on "
       "every river in the north.", ("FENNIMORE", "CARBON RODS", "SILENT REELS"), ("0x4d5b2f", "0xc2b280",
                                                                                  "0x4d5b2f"),
       "full", category="fishing gear", query="ad for fishing gear",
       avoid=("fishing gear", "fishing", "fish", "angling", "tackle")),
    Ad("Pellamy and Hart", "Your big day, remembered. Pellamy and Hart capture every vow and every dance, with "
       "prints ready in a fortnight.", ("PELLAMY & HART", "EVERY VOW", "PRINTS IN 2 WEEKS"),
       ("0xf4e1e6", "0x7d5a64", "0xf4e1e6"), "full", category="wedding photographer",
       query="ad for a wedding photographer", avoid=("wedding photographer", "wedding", "photographer", "photography", "photos")),
    Ad("Ruddock", "Ruddock. A cast iron firebox, a glass door to watch the flames, and heat for the whole "
       "house from one armful of logs.", ("RUDDOCK", "CAST IRON FIREBOX", "HEATS THE HOUSE"),
       ("0x3a1f14", "0xe27d3c", "0x3a1f14"), "windowbox", category="wood stove", query="ad for a wood stove",
       avoid=("wood stove", "stove", "stoves", "wood burner", "fireplace")),
    Ad("Zennick", "Zennick. Forged steel blades, ash handles, and a lifetime guarantee for every hole you "
       "dig.", ("ZENNICK", "FORGED STEEL", "ASH HANDLES"), ("0x5e6e4e", "0xd9d2b6", "0x5e6e4e"), "full",
       category="garden tools", query="ad for garden tools", avoid=("garden tool", "garden tools", "tool", "tools")),
)
ADS: tuple[Ad, ...] = tuple(CLASSIC_ADS.values()) + NEW_ADS

SPONSORS: tuple[Sponsor, ...] = (
    SPONSOR,
    Sponsor("Fernleaf Tea", "Our sponsor today is Fernleaf Tea. Loose leaf blends from small farms, delivered "
                            "monthly. Visit fernleaf dot co and use code LEAF for twenty percent off."),
    Sponsor("Kitebox", "This episode is presented by Kitebox, the craft kit that turns a rainy afternoon into a "
                       "project. Your first box is free at kitebox dot com."),
    Sponsor("Ledgerly", "We are partnered with Ledgerly, the simple way to send invoices and get paid on time. "
                        "Sign up today at ledgerly dot io for a free trial."),
)

# -- looks ---------------------------------------------------------------------------------------
VOICES: tuple[str, ...] = ("en-us+Andy", "en-gb+Annie", "en-us+Ed", "en-gb+Belinda", "en-us+Gene", "en-gb+Lee",
                           "en-us+Linda", "en-gb+Michael", "en-us+Steph", "en-gb+Paul")
AD_VOICES: tuple[str, ...] = ("en-us+Rob", "en-gb+Alicia", "en-us+Max", "en-gb+Zac", "en-us+shelby")
FONTS: tuple[tuple[str, ...], ...] = (  # the last of each is in fonts-dejavu-core
    ("DejaVuSansMono-Bold.ttf",),
    ("DejaVuSansMono.ttf",),
    ("LiberationMono-Bold.ttf", "DejaVuSansMono-Bold.ttf"),
    ("LiberationMono-Regular.ttf", "DejaVuSansMono.ttf"),
    ("DejaVuSansMono-BoldOblique.ttf", "DejaVuSansMono-Bold.ttf"),
    ("DejaVuSansMono-Oblique.ttf", "DejaVuSansMono.ttf"),
)
CAPTIONS: tuple[tuple[TextLook, str], ...] = (  # (caption look, the logo corner it leaves free)
    (TextLook(16, "white", "black@0.7", "12", "h-34"), "tr"),
    (TextLook(17, "0x80ffff", "0x003040@0.8", "w-text_w-12", "h-30"), "tl"),
    (TextLook(19, "white", None, "12", "12", border=2), "br"),
    (TextLook(15, "0x302000", "0xffe8b0@0.9", "(w-text_w)/2", "12"), "bl"),
)
SIGNS: tuple[TextLook, ...] = (
    TextLook(22, "0x101010", "0xf0f0e0", "(w-text_w)/2", "(h-text_h)/2-10"),
    TextLook(20, "white", "0x206040", "w-text_w-24", "h-text_h-36"),
    TextLook(23, "0xffff60", None, "24", "(h-text_h)/2", border=3),
)
LOGOS: tuple[Logo | None, ...] = (
    Logo(),
    Logo("TV1", "tr", 13, "black", None, "white@0.85"),
    Logo("ZED", "tr", 15, "white@0.5", None, None),
    None,
)
LAYOUTS: tuple[tuple[float, str], ...] = ((1 / 3, "slide"), (0.5, "orbit"), (1.0, "still"), (0.3, "bounce"),
                                          (0.75, "slide"), (0.25, "still"))
BEDS: tuple[tuple[tuple[float, ...], float], ...] = (
    ((203.0, 251.0, 301.0), 1.5), ((157.0, 199.0, 236.0), 1.0), ((227.0, 286.0, 341.0), 3.0),
)


def tuning_style(i: int, rng: random.Random) -> Style:
    """File ``i``'s look and sound (voice by index; the rest drawn from ``rng``)."""
    fonts = rng.sample(FONTS, 2)
    caption, free_corner = rng.choice(CAPTIONS)
    logo = rng.choice(LOGOS)
    if logo is not None and logo.corner != free_corner:
        logo = replace(logo, corner=free_corner)
    panel, motion = rng.choice(LAYOUTS)
    chord, note = rng.choice(BEDS)
    style = Style(
        voice=VOICES[i % len(VOICES)], wpm=rng.randint(130, 185), fonts=fonts[0], ad_fonts=fonts[1],
        speech_db=round(rng.uniform(-27.0, -21.0), 1), bed_db=round(rng.uniform(-45.0, -36.0), 1),
        bed_chord=chord, bed_note=note,
        noise_db=None if rng.random() < 0.3 else round(rng.uniform(-70.0, -56.0), 1),
        black=round(rng.uniform(0.3, 1.0), 1), caption=caption, caption_seconds=float(rng.randint(3, 5)),
        sign=rng.choice(SIGNS), sign_seconds=float(rng.randint(4, 7)), logo=logo, panel=panel, motion=motion,
        shot_seconds=0.0 if rng.random() < 0.35 else float(rng.randint(9, 16)),
    )
    return replace(style, bed_db=NO_BED_DB) if i % 10 in BEDLESS_FILES else style


def spot_style(ad: Ad, rng: random.Random) -> Ad:
    """``ad`` as this break airs it: one of the spot styles of the module docstring."""
    look = rng.choice(("busy", "muted", "calm", "busy", "plain"))
    common = dict(voice=rng.choice(AD_VOICES), wpm=rng.randint(140, 190), loud_db=float(rng.randint(-2, 10)),
                  bed_db=float(rng.randint(-38, -22)), note=rng.choice((0.2, 0.3, 0.5, 0.8)))
    if look == "busy":  # the classic: saturated, a new card every 2-3 s, a mover
        return replace(ad, **common, card_seconds=float(rng.choice((2, 3))), text=_CENTRE)
    if look == "muted":  # desaturated, the station logo stays on
        return replace(ad, **common, saturation=round(rng.uniform(0.35, 0.7), 2), keeps_logo=True,
                       card_seconds=float(rng.randint(4, 6)), text=_LOW, mover=False)
    if look == "calm":  # one card, no motion
        return replace(ad, **common, card_seconds=30.0, text=_CORNER, mover=False, framing="full")
    return replace(ad, **common, card_seconds=float(rng.randint(3, 5)), text=_LOW,  # plain: in the programme's framing
                   framing="full", keeps_logo=rng.random() < 0.5)


def tuning_recipe(i: int, seed: int = DEFAULT_SEED) -> Recipe:
    """File ``i`` of the tuning family: 3-4 topics (4 without ads), 0-2 breaks of 1-4 spots, maybe a sponsor read."""
    rng = random.Random(seed + i)
    style = tuning_style(i, rng)
    n_breaks, topics, topic_seconds, needles, depths = draw_programme(i, rng, TOPICS, NEEDLES, NO_AD_FILES, (52, 66))
    n_topics = len(topics)

    breaks: list[BreakSpec] = []
    aired: list[Ad] = []
    for ti in sorted(rng.sample(range(n_topics), n_breaks)):
        n_spots = rng.choice((1, 2, 3, 3, 4))
        picked = [ad for ad in rng.sample(ADS, len(ADS)) if ad.brand not in {a.brand for a in aired}][:n_spots]
        spots = [spot_style(ad, rng) for ad in picked]
        if aired and rng.random() < 0.35:  # a spot of the first break airs again, as it aired then
            spots[rng.randrange(len(spots))] = aired[0]
        aired += spots
        tail = 0.0 if rng.random() < 0.25 else float(rng.randint(2, 14))
        at_change = ti > 0 and rng.random() < 0.25
        lo = style.caption_seconds + 3.0 + tail
        offset = 0.0 if at_change else float(rng.randint(int(lo), max(int(lo), int(topic_seconds - 8.0))))
        tail = clamp_tail(tail, breaks, ti, offset, topic_seconds)
        breaks.append(BreakSpec(
            topic=ti, offset=offset, ads=tuple(spots), edges=rng.choice(("black", "cut")),
            between=rng.choice(("black", "black", "cut")), black=round(rng.uniform(0.3, 1.0), 1), tail=tail,
            tail_bed=rng.random() < 0.5, resume=float(rng.randint(0, 4))))

    sponsor = None
    read = SPONSORS[(i * 3) % len(SPONSORS)]
    if rng.random() < 0.8:
        length = read_seconds(read.text, style.wpm)
        for _ in range(8):
            ti = rng.randrange(n_topics)
            spot = (ti, float(rng.randint(2, max(2, int(topic_seconds - length - 2)))))
            if clear_of_breaks(spot, length, breaks, topic_seconds):
                sponsor = spot
                break
    return Recipe(
        name=f"tuning-{i:02d}", topics=topics, topic_seconds=topic_seconds, needles=tuple(zip(needles, depths)),
        breaks=tuple(breaks), sponsor=sponsor, sponsor_read=read,
        gap=(round(rng.uniform(0.8, 1.6), 1), round(rng.uniform(2.0, 4.0), 1)),
        spot_seconds=rng.choice((12.0, 15.0)), seed=seed + i, family=FAMILY, style=style,
    )
