"""The fresh family: generated broadcasts that nobody improving the jobs has looked at.

    recipe = fresh_recipe(3)                   # file 3 of the family (deterministic from its index and seed)
    build_scenario(cache_dir, recipe)          # -> Scenario (video + truth JSON), cached by the recipe's digest

The held-out family (:mod:`vidq.testing.heldout`) stopped being blind once its failures were
read while the jobs were improved.  This third family stands in for it: whoever tunes the
jobs runs it and reads **only the aggregate figures** (``benchmarks/families.py --family
fresh``), never this module's content, the generated files, their truth or per-query output.
So this docstring names what differs, not the content itself.

Shared with the other families: the container (320x180, 5 fps, H.264 + AAC mono 16 kHz), the
ground-truth schema, the way a programme is built (topics of spoken sentences, needles, breaks,
a sponsor read), the espeak-ng voice set and the installed font files.  Everything else is
new, and the test (``tests/test_families.py``) checks programmatically that no text, brand,
category, needle, QA item, sponsor wording, voice+speed pair, colour, font file or look is
shared with the tuning or held-out family:

**Voices and speech.**  Ten programme voices, one per file, each an espeak-ng voice with a
variant neither other family uses (numbered and named variants), at speeds (132-195 wpm)
that differ from every held-out speed; every ad has its own announcer voice+variant and
speed, again unused elsewhere.  Programme speech sits at -30..-18 dBFS with the bed 8-22 dB
below it (other chords and note lengths), and most files have a white-noise floor
(-72..-55 dBFS).

**Fonts, text and layout.**  Font files neither family uses (oblique, italic, condensed and
narrow cuts of DejaVu and Liberation; fonts-dejavu-core's plain cuts as fallbacks), five
other caption looks and positions (2-7 s), five other sign looks and positions (3-9 s),
four other station logos placed in a corner that neither the caption nor the sign uses (or
none), pattern panels of other sizes that orbit or bounce (new motions) or stand still,
four new moving patterns (hue-rotating spectrum, scrolling colour chart, drifting sine
plasma, scrolling RGB test pattern) over new background colours, and cuts inside topics
every 6-20 s in most files.

**Content.**  Fourteen new topics, each with its own sentences and two QA items (some asked
in other words than the sentence uses); twelve new needles (six spoken, six on screen)
whose queries use several phrasings (plain words, "the sign that says ...", "when does ...
appear on screen", questions in other words); a few programme sentences that mention an
advertised product's category or a word of it (distractors for "ad for X").  Fourteen new
ads in everyday categories that no other family advertises; each NEVER says or shows its
category or near synonyms (``Ad.avoid``, recorded in the truth's ``info.ad_avoid``) and
records its ``category`` in the truth.  Five sponsor reads, phrased as creators phrase them
and never with "sponsored by": some with a promo code, some with a link, one with both, two
with neither (one with only a soft cue).

**Breaks.**  One or two breaks in eight of ten files (two files without ads), each of one
to four spots drawn uniformly; black frames of 0.2-1.2 s (down to a single frame) or hard
cuts at the edges, and black or hard cuts between spots; narration stops 0 s, 1-4 s or 5-20 s
before a break (the bed playing on or faded to near silence) and resumes 0-5 s after it;
breaks inside a topic (as late as 4 s before its end) or at a topic change, at least 25 s
of programme apart.  Spots last 8-30 s (some with seconds of silence at their end), their
speech starts 0.3-2.5 s in, at -4..+11 dB against the programme, full frame, pillarbox,
letterbox or windowbox (black on all four sides, new), muted or saturated, some keeping
the station logo, some single calm cards, cards every 2-10 s; a spot may air again in the
second break.  Sponsor reads (in 8 of 10 files where they fit) sit right after a topic's
caption, just before a break's tail, two thirds into the second topic or a third into the
last one.

Every file's recipe is a pure function of its index and the family seed (3000), so the
family is reproducible and cached by recipe digest like every other scenario.  Knows nothing
about vidq's decoders, models or jobs.
"""

from __future__ import annotations

import dataclasses
import math
import random

from vidq.testing.heldout import clear_of_breaks, read_seconds
from vidq.testing.scenarios import (
    Ad,
    BreakSpec,
    Logo,
    Needle,
    Recipe,
    Sponsor,
    Style,
    TextLook,
    Topic,
)

FAMILY = "fresh"
DEFAULT_SEED = 3000  # file i's recipe uses seed DEFAULT_SEED + i
NO_AD_FILES = (1, 6)  # file indices (mod 10) without any ad
BREAK_SPACING = 25.0  # programme seconds from the end of one break's resume to the next break


TOPICS: tuple[Topic, ...] = (
    Topic("Dry stone walls", (
        "Across the northern hills, fields are divided by walls built without any mortar.",
        "A dry stone wall stands up because every stone is locked against its neighbours.",
        "Large through stones are laid across the wall to tie both faces together.",
        "Waller Ewan Pryce can rebuild about three metres of wall in a good day.",
        "Some of the walls on Carrow Fell are more than four hundred years old.",
        "Wrens and stoats make their homes in the gaps between the stones.",
        "The top is finished with a row of upright stones called copes.",
    ), ((3, "How much wall can Ewan Pryce put back up in a day?", ("About three metres", "About thirty metres",
                                                                  "About half a metre", "About a mile")),
        (4, "What age have some of the Carrow Fell walls reached?", ("More than four hundred years", "About forty years",
                                                                    "Ten years", "Two thousand years"))),
        "0x6b6350", "chart"),
    Topic("Sheepdog trials", (
        "At the county show, shepherds and their dogs compete in the sheepdog trials.",
        "Each handler steers the dog with whistles and a few short calls.",
        "Five sheep must be guided through three gates and into a small pen.",
        "A border collie can run at nearly thirty miles an hour.",
        "This year the trophy went to Morag Lindsay and her collie Fly.",
        "The judges take points away for every sheep that breaks from the group.",
        "A young collie trains for about two years before its first trial.",
    ), ((2, "How many sheep have to be guided into the pen?", ("Five", "Fifteen", "One", "Fifty")),
        (4, "Who won the trophy this year?", ("Morag Lindsay", "Ailsa Grant", "Fiona Baird", "Kirsty Munro"))),
        "0x4f6f3a", "plasma"),
    Topic("Salt marshes", (
        "Where rivers meet the sea, salt marshes spread across the mudflats.",
        "Samphire grows here and survives being covered by the tide twice a day.",
        "The marsh at Wrayness shelters around twenty thousand wading birds each winter.",
        "Creeks wind through the grass like veins and fill quickly on a rising tide.",
        "Marshes soak up storm surges and protect the villages behind them.",
        "Ranger Tobias Fenn leads walks along the sea wall every Sunday.",
        "A metre of marsh mud can take a thousand years to build up.",
    ), ((2, "How many wading birds spend the winter at Wrayness?", ("Around twenty thousand", "Around two hundred",
                                                                   "Around two million", "None at all")),
        (5, "When does Tobias Fenn lead his walks?", ("Every Sunday", "Every morning", "Once a year",
                                                     "On the first of each month"))),
        "0x3f6a66", "spectrum"),
    Topic("Bookbinding", (
        "In a small bindery off the high street, books are still sewn by hand.",
        "Pages are folded into groups called signatures before they are stitched.",
        "The binder uses linen thread rubbed with beeswax so it will not fray.",
        "Covers are made from boards wrapped in cloth or goatskin leather.",
        "Binder Hugo Wendt once repaired a prayer book printed in 1611.",
        "Gold lettering is pressed onto the spine with heated brass tools.",
        "A book bound by hand can last for several centuries.",
    ), ((2, "What is the linen thread rubbed with?", ("Beeswax", "Candle grease", "Olive oil", "Nothing at all")),
        (4, "When was the prayer book that Hugo Wendt repaired printed?", ("1611", "1711", "1911", "1511"))),
        "0x6a3a3a", "chart"),
    Topic("Urban foxes", (
        "After dark, foxes slip through the gardens and alleys of the city.",
        "A city fox may travel five miles in a single night.",
        "They eat worms, berries and whatever people throw away.",
        "Cubs are born in early spring, usually four or five to a litter.",
        "Researcher Anjali Rao fitted twelve foxes with tiny tracking collars.",
        "Foxes scream loudly in winter when they are looking for a mate.",
        "One vixen crossed the river bridge at two o'clock every night.",
    ), ((1, "How far can a city fox roam in one night?", ("Five miles", "Half a mile", "Fifty miles",
                                                         "Two hundred yards")),
        (4, "How many foxes did Anjali Rao fit with collars?", ("Twelve", "Two", "Forty", "Seven"))),
        "0x5a4a5f", "rgbscroll"),
    Topic("Rope making", (
        "In an old ropewalk by the docks, rope is still twisted the traditional way.",
        "The building is a quarter of a mile long so that a whole rope can be laid out straight.",
        "Hemp fibres are spun into yarn, and the yarn into strands.",
        "Three strands are twisted together in the opposite direction to lock them.",
        "Master roper Silas Greaves has worked here since he was fifteen.",
        "A ship of the line once needed more than twenty miles of rope.",
        "Tar was brushed into naval rope to keep out the sea water.",
    ), ((1, "Why is the ropewalk building so long?", ("So a whole rope can be laid out straight", "To store ships",
                                                     "To keep it cool", "It was once a railway")),
        (4, "Since what age has Silas Greaves worked at the ropewalk?", ("Fifteen", "Fifty", "Five", "Thirty"))),
        "0x7a6a4a", "plasma"),
    Topic("Fireflies", (
        "On warm summer nights, the meadow lights up with fireflies.",
        "Fireflies are not flies at all but a kind of beetle.",
        "Their light comes from a chemical reaction that gives off almost no heat.",
        "Each species flashes its own pattern to find a mate.",
        "Entomologist Rosalind Achebe has counted sixteen species in this valley.",
        "Bright street lamps confuse the fireflies and stop them from signalling.",
        "Visitors come to watch the display from the footpath after ten o'clock.",
        "The larvae live in damp soil for up to two years.",
    ), ((1, "What kind of insect is a firefly really?", ("A beetle", "A fly", "A moth", "A bee")),
        (4, "How many species has Rosalind Achebe counted?", ("Sixteen", "Six", "Sixty", "Two"))),
        "0x1f2a4a", "spectrum"),
    Topic("Blacksmithing", (
        "At the village forge, the blacksmith heats the iron until it glows orange.",
        "Coal in the forge burns at well over a thousand degrees.",
        "The anvil in Dunmere forge weighs about one hundred and fifty kilos.",
        "Smith Ingrid Vale makes gate hinges, fire pokers and horseshoes.",
        "Quenching the hot steel in oil makes it hard but brittle.",
        "Each horseshoe is shaped to fit one particular hoof.",
        "A smith's hammer can strike the anvil thousands of times a day.",
    ), ((2, "How heavy is the anvil at Dunmere forge?", ("About one hundred and fifty kilos", "About fifteen kilos",
                                                        "About a tonne", "About five kilos")),
        (3, "Which of these does Ingrid Vale make?", ("Gate hinges", "Clay pots", "Wooden chairs", "Glass bottles"))),
        "0x4a3028", "chart"),
    Topic("Origami", (
        "With a single square of paper, origami artists fold animals, flowers and boxes.",
        "Traditional origami uses no scissors and no glue.",
        "The best known model is the crane, folded from one sheet.",
        "A legend says that folding a thousand cranes brings good luck.",
        "Folder Kenji Amano spent three weeks designing a dragon with four hundred folds.",
        "Engineers use origami ideas to pack solar panels for spacecraft.",
        "Thin, strong paper called kami is the favourite of beginners.",
    ), ((4, "How long did Kenji Amano spend designing his dragon?", ("Three weeks", "Three hours", "Three years",
                                                                    "Three days")),
        (5, "Why do engineers borrow ideas from origami?", ("To pack solar panels for spacecraft", "To design bridges",
                                                           "To make cheap furniture", "To fold maps"))),
        "0x6a5a8a", "rgbscroll"),
    Topic("Hedgehogs", (
        "In the hedgerows and gardens, hedgehogs wake at dusk to hunt.",
        "A hedgehog has around five thousand spines on its back.",
        "They roll into a tight ball when they feel threatened.",
        "Hedgehogs wander a mile or two each night looking for beetles and slugs.",
        "Volunteer Pippa Hale runs a rescue centre from her garage.",
        "A small gap at the bottom of a fence lets hedgehogs move between gardens.",
        "They sleep through the winter in nests of dry leaves.",
    ), ((1, "Roughly how many spines does a hedgehog have?", ("Around five thousand", "Around fifty",
                                                             "Around five hundred thousand", "Around five hundred")),
        (4, "Where does Pippa Hale run her rescue centre?", ("From her garage", "In a barn", "At the zoo",
                                                            "In the town hall"))),
        "0x5f4a30", "plasma"),
    Topic("Cider pressing", (
        "In the orchards of the west, autumn is the season for pressing cider.",
        "Bittersweet apples with odd names like Foxwhelp are grown just for cider.",
        "The fruit is milled into a pulp and stacked in cloth layers on the press.",
        "A big press squeezes out about seven hundred litres of juice in an afternoon.",
        "The juice ferments in oak barrels through the winter.",
        "Orchard owner Nell Farrant still wassails her trees every January.",
        "Wassailing means singing to the apple trees to wish for a good crop.",
    ), ((3, "How much juice does the big press give in an afternoon?", ("About seven hundred litres",
                                                                       "About seven litres",
                                                                       "About seventy thousand litres",
                                                                       "About seventy litres")),
        (5, "What does Nell Farrant do every January?", ("Wassails her trees", "Plants new trees", "Sells the barrels",
                                                        "Prunes the hedges"))),
        "0x7a5a20", "spectrum"),
    Topic("Undersea cables", (
        "Most of the world's internet traffic travels through cables on the sea floor.",
        "A deep sea cable is often no thicker than a garden hose.",
        "Near the shore, cables are armoured with steel and buried in trenches.",
        "Every film you stream on your laptop may have crossed an ocean.",
        "The repair ship Halcyon Tern can stay at sea for forty days.",
        "Fishing trawlers and dragging anchors cause most cable breaks.",
        "The first cable under the Atlantic carried telegraph messages in 1858.",
    ), ((1, "How thick is a typical deep sea cable?", ("About as thick as a garden hose", "As wide as a bus",
                                                      "Thinner than a hair", "A metre across")),
        (6, "In what year did the first Atlantic cable carry messages?", ("1858", "1958", "1758", "1898"))),
        "0x203a5a", "rgbscroll"),
    Topic("Bell ringing", (
        "High in the church tower, a team of ringers pulls on long ropes.",
        "Each bell swings a full circle and sounds once on every pull.",
        "Ringers follow patterns called methods rather than tunes.",
        "The tenor bell at Saint Aldric's weighs nearly two tonnes.",
        "Tower captain Gideon Oyelaran has rung here for forty three years.",
        "A full peal of five thousand changes takes about three hours.",
        "Ringers practise on Tuesday evenings, so the neighbours know when to expect them.",
    ), ((3, "How much does the tenor bell at Saint Aldric's weigh?", ("Nearly two tonnes", "About twenty kilos",
                                                                     "Nearly ten tonnes", "About two hundred kilos")),
        (5, "How long does it take to ring a full peal?", ("About three hours", "About three minutes", "All day",
                                                          "About thirty minutes"))),
        "0x5a2a3a", "chart"),
    Topic("Falconry", (
        "On the open moor, a falconer flies her birds to the lure.",
        "A peregrine falcon can dive at more than two hundred miles an hour.",
        "Falconers wear a thick leather glove called a gauntlet.",
        "A small hood calms the bird by covering its eyes.",
        "Falconer Beatrix Olowe trains her hawks with fresh meat and patience.",
        "Harris hawks hunt in family groups, which is rare among birds of prey.",
        "Falconry has been practised for more than four thousand years.",
    ), ((1, "How fast can a peregrine dive?", ("More than two hundred miles an hour", "About twenty miles an hour",
                                              "Slower than a pigeon", "Exactly fifty miles an hour")),
        (3, "Why is a hood put over the bird's head?", ("To calm it by covering its eyes", "To keep it warm",
                                                       "To protect it from rain", "To make it fly faster"))),
        "0x4a5a6a", "plasma"),
)

NEEDLES: tuple[Needle, ...] = (
    Needle("speech", "The gate code for the yard is 3 8 0 5.", "the gate code for the yard"),
    Needle("screen", "PLATFORM 6 DELAYED", "platform 6 delayed"),
    Needle("speech", "The parcel is waiting at counter thirty one.", "which counter is the parcel at"),
    Needle("screen", "COBALT WALRUS", "when does cobalt walrus appear on screen"),
    Needle("speech", "Our next meeting has moved to Thursday at half past four.", "when is the next meeting"),
    Needle("screen", "LOADING BAY C", "the sign that says loading bay c"),
    Needle("speech", "The safe word for tonight is copper lantern.", "what is the safe word"),
    Needle("screen", "NO ENTRY AFTER 8PM", "no entry after 8pm"),
    Needle("speech", "The lost ring turned up inside the old piano.", "where was the missing ring found"),
    Needle("screen", "SAFFRON HERON", "saffron heron"),
    Needle("speech", "The caller left her name as Odile Brennan.", "who was the caller"),
    Needle("screen", "TABLE 12 RESERVED", "table 12 reserved"),
)

_STAMP = TextLook(28, "0xfff0c0", "0x802000@0.7", "(w-text_w)/2", "(h-text_h)/2+20")  # a warm stamp below centre
_CORNER = TextLook(18, "white", "black@0.6", "w-text_w-12", "h-text_h-12")  # small, lower right
_DARK = TextLook(24, "0x102030", None, "20", "(h-text_h)/2")  # dark letters on a bright card, left
_OUTLINE = TextLook(26, "0xc0ffc0", None, "(w-text_w)/2", "24", border=3)  # outlined, near the top
_PLATE = TextLook(21, "black", "white@0.9", "14", "h-text_h-14")  # a white plate, lower left

ADS: tuple[Ad, ...] = (
    Ad("Frostbay", "Frostbay. Salted caramel folded through with ribbons of fudge, scooped into a crisp waffle cone. "
       "Look for the blue tub in the freezer aisle.", ("FROSTBAY", "SALTED CARAMEL SWIRL", "FREEZER AISLE"),
       ("0x40a0ff", "0xffb0d0", "0x40a0ff"), "windowbox", category="ice cream",
       avoid=("ice cream", "icecream", "gelato", "sorbet", "sundae", "dessert"), voice="en-us+Annie", wpm=164,
       loud_db=7.0, bed_db=-24.0, jingle=(587.3, 698.5, 880.0), note=0.3, lead=0.5, card_seconds=2.5,
       text=_STAMP, seconds=15.0),
    Ad("Silkroot", "Silkroot, with argan oil and rosemary. Lather, rinse, and feel the difference from the very first "
       "rinse. Softer, shinier hair, every single day.", ("SILKROOT", "ARGAN + ROSEMARY", "SOFTER. SHINIER."),
       ("0x806040", "0x604830", "0x806040"), "full", category="shampoo",
       avoid=("shampoo", "shampoos", "conditioner", "hair wash"), voice="en-gb-x-rp+steph", wpm=152, loud_db=-3.0,
       bed_db=-40.0, jingle=(220.0, 277.2, 329.6), note=1.1, lead=2.0, saturation=0.45, keeps_logo=True,
       card_seconds=7.0, text=_OUTLINE, mover=False, seconds=20.0),
    Ad("Tessera 14", "The Tessera fourteen. A fourteen inch screen, less than a kilo in your bag, and keys that light "
       "up after dark. Work from anywhere, all day on one charge.", ("TESSERA 14", "UNDER 1 KG", "ALL-DAY CHARGE"),
       ("0x202830", "0x384858", "0x202830"), "letterbox", category="laptop", query="ad for a laptop",
       avoid=("laptop", "laptops", "notebook", "computer", "computers", "pc"), voice="en-us+m1", wpm=182,
       loud_db=3.0, bed_db=-30.0, jingle=(130.8, 196.0, 261.6), note=0.7, lead=1.0, card_seconds=4.0, text=_CORNER,
       seconds=25.0),
    Ad("Sunpress", "Sunpress. Forty oranges pressed every minute, bottled the same morning, with nothing added. Pour "
       "yourself a glass of sunshine.", ("SUNPRESS", "PRESSED THIS MORNING", "NOTHING ADDED"),
       ("0xffa000", "0xffe040", "0xff7000"), "full", category="juice",
       avoid=("juice", "juices", "smoothie", "drink", "drinks"), voice="en-us+f1", wpm=146, loud_db=10.0,
       bed_db=-20.0, jingle=(784.0, 880.0, 1046.5), note=0.18, lead=0.3, card_seconds=2.0, text=_DARK, seconds=10.0),
    Ad("Dustrover", "Meet Dustrover. It lifts crumbs, pet hair and beach sand in a single pass, then empties itself "
       "into its dock. Less time on the floors, more time for you.", ("DUSTROVER", "ONE PASS", "SELF-EMPTYING DOCK"),
       ("0x505860", "0x80c040", "0x505860"), "pillarbox", category="vacuum cleaner", query="ad for a vacuum cleaner",
       avoid=("vacuum", "vacuum cleaner", "hoover", "cleaner", "cleaners"), voice="en-gb+f5", wpm=174, loud_db=5.0,
       bed_db=-28.0, jingle=(329.6, 415.3, 493.9), note=0.45, lead=0.8, keeps_logo=True, card_seconds=3.0,
       text=_PLATE, seconds=20.0),
    Ad("Shorebright", "Shorebright factor fifty. Water resistant for eighty minutes, gentle on children's skin, and "
       "no white streaks. Enjoy every minute on the beach.", ("SHOREBRIGHT", "SPF 50", "80 MIN WATER RESISTANT"),
       ("0x60c0d0", "0xf0e0a0", "0x60c0d0"), "full", category="sunscreen",
       avoid=("sunscreen", "sunblock", "sun cream", "suncream", "lotion"), voice="en-gb-x-rp+m6", wpm=156,
       loud_db=0.0, bed_db=-36.0, jingle=(261.6, 311.1, 392.0), note=0.9, lead=1.5, saturation=0.55,
       card_seconds=5.0, text=_STAMP, mover=False, seconds=15.0),
    Ad("Velmont", "Velmont. Seventy percent cocoa from a single valley in Ecuador, with a snap you can hear. Let a "
       "square melt slowly.", ("VELMONT", "70% COCOA", "SINGLE ORIGIN"), ("0x3a1a10", "0x5a2a18", "0x3a1a10"),
       "letterbox", category="chocolate", avoid=("chocolate", "chocolates", "candy", "sweets", "choc"),
       voice="en-us-nyc+m2", wpm=166, loud_db=8.0, bed_db=-26.0, jingle=(196.0, 246.9, 293.7, 370.0), note=0.35,
       lead=1.2, card_seconds=3.0, text=_OUTLINE, seconds=12.0),
    Ad("Fleetspoke", "The Fleetspoke Tour. Twenty one gears, a light alloy frame and tyres that shrug off thorns. "
       "Ride to work in half the time.", ("FLEETSPOKE TOUR", "21 GEARS", "THORN-PROOF TYRES"),
       ("0x00b060", "0xff4080", "0x0060ff"), "windowbox", category="bicycle", query="ad for a bicycle",
       avoid=("bicycle", "bicycles", "bike", "bikes", "cycle", "cycling", "e-bike"), voice="en-029+f1", wpm=136,
       loud_db=6.0, bed_db=-23.0, jingle=(659.3, 830.6, 987.8), note=0.2, lead=0.6, card_seconds=2.0, text=_CORNER,
       seconds=20.0),
    Ad("The Marlowe", "Stay at The Marlowe, two minutes from the old town. Breakfast on the roof terrace, fresh linen "
       "every day, and late checkout on Sundays. Book your room direct.",
       ("THE MARLOWE", "ROOF TERRACE BREAKFAST", "LATE CHECKOUT SUNDAYS"), ("0x706050", "0x807060", "0x706050"),
       "full", category="hotel", query="ad for a hotel",
       avoid=("hotel", "hotels", "motel", "inn", "resort", "hostel", "accommodation"), voice="en-gb-x-gbclan+f5",
       wpm=158, loud_db=-2.0, bed_db=-42.0, jingle=(174.6, 207.7, 261.6), note=1.6, lead=2.5, saturation=0.4,
       keeps_logo=True, card_seconds=10.0, text=_PLATE, mover=False, seconds=25.0),
    Ad("Meadowcup", "Meadowcup. Thick and creamy, with live cultures and real strawberries waiting at the bottom of "
       "every pot. Breakfast, sorted.", ("MEADOWCUP", "LIVE CULTURES", "FRUIT AT THE BOTTOM"),
       ("0xff80a0", "0xfff0f0", "0xff80a0"), "pillarbox", category="yogurt",
       avoid=("yogurt", "yoghurt", "yogurts", "yoghurts"), voice="en-us+Alex", wpm=172, loud_db=9.0, bed_db=-21.0,
       jingle=(698.5, 880.0, 1046.5, 1396.9), note=0.15, lead=0.4, card_seconds=2.0, text=_DARK, seconds=10.0),
    Ad("Keenedge", "Keenedge Five. Five fine blades, a head that follows every curve, and a strip of aloe for the "
       "closest, smoothest shave.", ("KEENEDGE 5", "5 BLADES", "CLOSE. SMOOTH."), ("0x1060a0", "0xc0c8d0", "0x1060a0"),
       "full", category="razor", query="ad for a razor", avoid=("razor", "razors", "shaver", "shavers"),
       voice="en-gb+Andy", wpm=162, loud_db=4.0, bed_db=-29.0, jingle=(246.9, 329.6, 415.3), note=0.5, lead=0.7,
       card_seconds=3.0, text=_STAMP, seconds=15.0),
    Ad("Hearthtone", "Hearthtone. One coat covers, it dries in an hour and it wipes clean. Choose from sixty shades "
       "for every wall in the house.", ("HEARTHTONE", "ONE COAT", "60 SHADES"), ("0xd0a080", "0x90b0a0", "0xb08090"),
       "letterbox", category="paint", avoid=("paint", "paints", "painting", "emulsion"), voice="en-us+klatt", wpm=168,
       loud_db=1.0, bed_db=-34.0, jingle=(293.7, 349.2, 440.0), note=0.8, lead=1.8, saturation=0.6,
       keeps_logo=True, card_seconds=5.0, text=_DARK, mover=False, seconds=15.0),
    Ad("Meridian Classic", "The Meridian Classic. Sapphire glass, a soft leather strap, and a battery that keeps time "
       "for ten years. Made to be worn every day.", ("MERIDIAN CLASSIC", "SAPPHIRE GLASS", "10-YEAR BATTERY"),
       ("0x101010", "0x283038", "0x101010"), "windowbox", category="watch", query="ad for a watch",
       avoid=("watch", "watches", "wristwatch", "timepiece", "clock"), voice="en-gb-x-rp+f5", wpm=184, loud_db=2.0,
       bed_db=-32.0, jingle=(164.8, 246.9, 329.6), note=1.0, lead=1.0, card_seconds=6.0, text=_OUTLINE, mover=False,
       seconds=30.0),
    Ad("Ironloft", "Ironloft is open day and night, with two hundred machines, a heated pool and classes every hour. "
       "Your first month is on us.", ("IRONLOFT", "OPEN 24/7", "FIRST MONTH FREE"), ("0xe00000", "0x000000", "0xffff00"),
       "full", category="gym", query="ad for a gym", avoid=("gym", "gyms", "fitness", "health club", "workout"),
       voice="en-us+steph", wpm=154, loud_db=11.0, bed_db=-19.0, jingle=(880.0, 1174.7, 1318.5), note=0.12,
       lead=0.3, card_seconds=2.0, text=_CORNER, seconds=8.0),
)

SPONSORS: tuple[Sponsor, ...] = (
    Sponsor("Ferncastle Audio", "I want to say a big thank you to Ferncastle Audio for partnering with us on this "
                                "episode. They have thousands of audiobooks for your commute. Use the code TRAILHEAD "
                                "to get two books free."),
    Sponsor("Pocketmint", "Quick break to tell you about Pocketmint, the budgeting app I actually use every week. It "
                          "sorts your spending for you, and you can try it free at pocketmint dot io slash trail."),
    Sponsor("Wayfarer Socks", "This episode is presented by Wayfarer Socks. They are knitted from merino wool, so your "
                              "feet stay dry on long walks. You can find them in outdoor shops across the country."),
    Sponsor("Slate Planner", "I have been using Slate Planner for about six months now, and they reached out to work "
                             "with us on this video. It keeps my whole week on one simple page. Search for Slate "
                             "Planner wherever you get your apps."),
    Sponsor("Brambleworks", "Big shout out to Brambleworks, who back this channel. Their pottery kits come with clay, "
                            "tools and a video lesson. Head to brambleworks dot shop and enter RIVERSIDE at checkout "
                            "for fifteen percent off."),
)

# -- looks ------------------------------------------------------------------------------------------
VOICES: tuple[tuple[str, int], ...] = (  # (programme voice, words per minute), one per file (cycling)
    ("en-gb+m1", 158), ("en-us+f5", 142), ("en-gb-x-rp+m4", 172), ("en-gb-x-gbclan+Alex", 162), ("en-us+m6", 186),
    ("en-gb+steph", 132), ("en-029+m2", 157), ("en-gb-x-rp+john", 195), ("en-us+david", 178), ("en-gb+klatt", 148),
)
FONTS: tuple[tuple[str, ...], ...] = (  # candidate files, first installed wins; the last of each is in fonts-dejavu-core
    ("DejaVuSans-Oblique.ttf", "DejaVuSans.ttf"),
    ("DejaVuSansCondensed.ttf", "DejaVuSans.ttf"),
    ("DejaVuSerifCondensed-Bold.ttf", "DejaVuSerif-Bold.ttf"),
    ("DejaVuSerif-Italic.ttf", "DejaVuSerif.ttf"),
    ("LiberationSerif-Regular.ttf", "DejaVuSerif.ttf"),
    ("LiberationSans-Italic.ttf", "DejaVuSans.ttf"),
    ("LiberationSansNarrow-Regular.ttf", "DejaVuSans.ttf"),
    ("LiberationSerif-BoldItalic.ttf", "DejaVuSerif-Bold.ttf"),
    ("DejaVuSans-BoldOblique.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVuSerifCondensed.ttf", "DejaVuSerif.ttf"),
)
CORNERS = ("tl", "tr", "bl", "br")
CAPTIONS: tuple[tuple[TextLook, str], ...] = (  # (caption look, the corner it sits in; "" for none)
    (TextLook(17, "0x80ffff", "0x003030@0.8", "w-text_w-12", "12"), "tr"),
    (TextLook(12, "white", "0x404040@0.9", "12", "h-22"), "bl"),
    (TextLook(22, "0xff80ff", None, "(w-text_w)/2", "h-text_h-8", border=1), ""),
    (TextLook(16, "0x002000", "0xc0ff80@0.9", "12", "(h-text_h)/2+30"), ""),
    (TextLook(19, "white", "0x2040a0@0.6", "(w-text_w)/2", "(h-text_h)/2-40"), ""),
)
SIGNS: tuple[tuple[TextLook, str], ...] = (  # (sign look, the corner it sits in; "" for none)
    (TextLook(21, "0x00ffff", "0x202020", "w-text_w-14", "14"), "tr"),
    (TextLook(17, "white", "0x206020", "14", "h-text_h-16"), "bl"),
    (TextLook(23, "0x400040", "0xffc0ff", "(w-text_w)/2", "(h-text_h)/3"), ""),
    (TextLook(19, "yellow", None, "14", "(h-text_h)/2", border=2), ""),
    (TextLook(25, "0xff6060", "black@0.6", "(w-text_w)/2", "h-text_h-12"), ""),
)
LOGOS: tuple[Logo | None, ...] = (
    Logo("TV9", "br", 15, "0x80ffd0", None, "0x003020@0.7"),
    Logo("ARC", "tl", 11, "white@0.5", "white@0.5", None),
    Logo("Q3", "tr", 20, "0xffa0a0", None, None),
    Logo("LUX", "bl", 12, "black", None, "white@0.7"),
    None,
)
LAYOUTS: tuple[tuple[float, str], ...] = ((0.45, "orbit"), (0.7, "bounce"), (0.3, "orbit"), (0.8, "still"),
                                          (0.55, "bounce"))
BEDS: tuple[tuple[tuple[float, ...], float], ...] = (  # (chord Hz, seconds per note)
    ((233.1, 293.7, 349.2), 1.0), ((207.7, 261.6, 311.1, 415.3), 0.6), ((164.8, 196.0, 246.9), 3.0),
    ((277.2, 349.2, 415.3), 1.8),
)


def fresh_style(i: int, rng: random.Random) -> Style:
    """File ``i``'s look and sound (voice by index; the rest drawn from ``rng``)."""
    voice, wpm = VOICES[i % len(VOICES)]
    fonts = rng.sample(FONTS, 2)
    caption, caption_corner = rng.choice(CAPTIONS)
    sign, sign_corner = rng.choice(SIGNS)
    logo = rng.choice(LOGOS)
    if logo is not None and logo.corner in (caption_corner, sign_corner):
        free = [c for c in CORNERS if c not in (caption_corner, sign_corner)]
        logo = dataclasses.replace(logo, corner=free[rng.randrange(len(free))])
    panel, motion = rng.choice(LAYOUTS)
    chord, note = rng.choice(BEDS)
    speech_db = round(rng.uniform(-30.0, -18.0), 1)
    return Style(
        voice=voice, wpm=wpm, fonts=fonts[0], ad_fonts=fonts[1], speech_db=speech_db,
        bed_db=round(speech_db - rng.uniform(8.0, 22.0), 1), bed_chord=chord, bed_note=note,
        noise_db=None if rng.random() < 0.3 else round(rng.uniform(-72.0, -55.0), 1),
        black=round(rng.uniform(0.2, 1.2), 1), caption=caption, caption_seconds=float(rng.randint(2, 7)),
        sign=sign, sign_seconds=float(rng.randint(3, 9)), logo=logo, panel=panel, motion=motion,
        shot_seconds=0.0 if rng.random() < 0.25 else float(rng.randint(6, 20)),
    )


def _tail(rng: random.Random) -> float:
    """Seconds of narration-free programme before a break: none, short or long."""
    r = rng.random()
    if r < 0.15:
        return 0.0
    return float(rng.randint(1, 4)) if r < 0.4 else float(rng.randint(5, 20))


def fresh_recipe(i: int, seed: int = DEFAULT_SEED) -> Recipe:
    """File ``i`` of the fresh family: 3-4 topics of 45-70 s, 2-4 needles, 0-2 breaks of 1-4 spots, maybe a sponsor."""
    rng = random.Random(seed + i)
    style = fresh_style(i, rng)
    n_breaks = 0 if i % 10 in NO_AD_FILES else rng.choice((1, 2, 2))
    n_topics = 4 if n_breaks == 0 else rng.choice((3, 4, 4))
    topics = tuple(rng.sample(TOPICS, n_topics))
    topic_seconds = float(rng.randint(45, 70))
    needles = tuple(rng.sample(NEEDLES, rng.randint(2, 4)))
    depths = sorted(rng.uniform(0.04, 0.96) for _ in needles)

    breaks: list[BreakSpec] = []
    aired: list[Ad] = []
    for ti in sorted(rng.sample(range(n_topics), n_breaks)) if n_breaks else []:
        spots = [ad for ad in rng.sample(ADS, len(ADS)) if ad not in aired][:rng.randint(1, 4)]
        if aired and rng.random() < 0.35:  # a spot of the first break airs again
            spots[rng.randrange(len(spots))] = rng.choice(aired)
        tail = _tail(rng)
        if ti > 0 and rng.random() < 0.25:  # at the topic change
            offset = 0.0
        else:
            lo, hi = int(style.caption_seconds + 2.0 + tail), int(topic_seconds - 4.0)
            offset = float(rng.randint(lo, hi)) if hi > lo else float(hi)
        resume = float(rng.randint(0, 5))
        if breaks:  # well after the previous break, and its tail never reaches back to it
            prev = breaks[-1]
            earliest = prev.topic * topic_seconds + prev.offset + prev.resume + BREAK_SPACING
            if ti * topic_seconds + offset < earliest:
                offset = float(max(math.ceil(earliest - ti * topic_seconds), int(style.caption_seconds + 2.0)))
                if offset > topic_seconds - 4.0:
                    continue
            room = ti * topic_seconds + offset - prev.topic * topic_seconds - prev.offset - prev.resume - 4.0
            tail = float(max(0, min(tail, int(room))))
        aired += spots
        breaks.append(BreakSpec(
            topic=ti, offset=offset, ads=tuple(spots), edges=rng.choice(("black", "black", "cut")),
            between=rng.choice(("black", "cut", "cut")), black=round(rng.uniform(0.2, 1.2), 1), tail=tail,
            tail_bed=rng.random() < 0.5, resume=resume))

    read = SPONSORS[(3 * i + 1) % len(SPONSORS)]
    sponsor = None
    if rng.random() < 0.8:
        length = read_seconds(read.text, style.wpm)
        first = breaks[0] if breaks else None
        candidates = {
            "after-caption": (rng.randrange(n_topics), style.caption_seconds + 0.6),
            "before-break": (first.topic, first.offset - first.tail - 3.0 - length) if first else None,
            "second-topic": (1, topic_seconds * 2 / 3 - length / 2),
            "last-topic": (n_topics - 1, topic_seconds / 3 - length / 3),
        }
        where = rng.choice(sorted(candidates))
        for w in [where] + [w for w in sorted(candidates) if w != where]:
            spot = candidates[w]
            if spot is not None and clear_of_breaks(spot, length, breaks, topic_seconds):
                sponsor = spot
                break
    return Recipe(
        name=f"fresh-{i:02d}", topics=topics, topic_seconds=topic_seconds,
        needles=tuple(zip(needles, depths)), breaks=tuple(breaks), sponsor=sponsor, sponsor_read=read,
        gap=(round(rng.uniform(0.4, 1.2), 1), round(rng.uniform(1.6, 4.0), 1)),
        spot_seconds=12.0, seed=seed + i, family=FAMILY, style=style,
    )
