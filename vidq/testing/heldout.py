"""The held-out family: generated broadcasts that share nothing with the tuning family but the format.

    recipe = heldout_recipe(3)                 # file 3 of the family (deterministic from its index and seed)
    build_scenario(cache_dir, recipe)          # -> Scenario (video + truth JSON), cached by the recipe's digest

No threshold or weight may be fitted on these files: they stand for recordings nobody has seen.
The tuning family (:mod:`vidq.testing.families`) is the classic scenario generator
(:mod:`vidq.testing.scenarios`) varied only by seed, order and positions.  Everything below
differs from it; what stays the same is the container (320x180, 5 fps, H.264 + AAC mono
16 kHz), the ground-truth schema and the way a programme is built (topics of spoken
sentences, needles, breaks, a sponsor read).

**Voices and speech.**  Tuning: espeak-ng ``en-us`` at 150 words per minute for everything.
Held-out: each file's programme voice is one of ten other voices or variants
(``en-gb-x-rp``, ``en-gb-scotland``, ``en-us+f2``, ``en-gb-x-gbclan+m3``, ``en-029``,
``en-us-nyc+m5``, ``en-gb+f4``, ``en-gb-x-gbcwmd``, ``en-gb-x-rp+f3``, ``en-gb-scotland+m7``)
at 135-190 wpm, and every ad has its own announcer voice and speed (``en-us-nyc``,
``en-gb+m3``, ``en-gb-x-rp+f2``, ``en-029+f4``, ``en-gb-scotland+f3``, ``en-gb-x-gbcwmd+m2``).
Programme speech sits at -28..-20 dBFS (tuning -24), the bed at -46..-34 dBFS with other
chords and note lengths (tuning -40, one chord), and most files carry a white-noise floor
(-68..-58 dBFS), so black frames are quiet but not digitally silent.

**Fonts, text and layout.**  Tuning: DejaVu Sans Mono Bold everywhere, a white-on-black
caption at the lower left for 4 s, dark-on-cream signs in the middle for 6 s, "VQ" framed at
the top right, a third-size pattern panel sliding left-right over a muted colour.  Held-out:
per file a proportional font for the programme and another for the ads (DejaVu Serif /
Sans / Sans Condensed, Liberation Sans / Serif / Sans Narrow; fonts-dejavu-extra and
fonts-liberation, falling back to fonts-dejavu-core's Sans and Serif when those are not
installed; never the tuning font); captions in five looks (yellow on blue lower centre,
outlined top left, black on white lower right, amber top centre, white on red middle left)
for 3-6 s; signs in four looks (white on red, black on amber, dark on pale blue, outlined
white) at other places for 4-8 s; four other logos ("NT" filled top left, a translucent
"K7" bottom right, "CH4" framed bottom left, "RIVR" boxed top right) or none at all;
pattern panels of other sizes (a quarter to the full frame) that rise, slide or stand
still; other patterns (cellular automata, Mandelbrot, Sierpinski, test cards) over other
background colours, some bright; and in most files cuts inside a topic every 8-15 s.

**Content.**  Sixteen new topics (canal boats, cheese making, tide pools, ... hot air
balloons) with their own sentences and 32 new QA items, some asking in other words than
the sentence uses; twelve new needles (six spoken, six on screen) with their queries; four
new sponsor reads worded without "sponsored by" ("brought to you by", "support for this
programme comes from", "thanks to our partner", "made possible by"), read near the start,
in the middle, right after a break or near the end; a few programme sentences mention
phones, coffee or flights (distractors for "ad for X").  Fourteen new ads, each with a
``category`` in the truth, that NEVER say or show the category word or its near synonyms
(``Ad.avoid``): a cola that never says soda, a handset that never says phone, a car,
pizza, insurance, running shoes, coffee, an airline, detergent, a bank, toothpaste, dog
food, a mattress and headphones.

**Breaks.**  Tuning: one or two breaks of one to three spots, 0.6 s of black and digital
silence before, between and after spots, narration up to 0.5 s before the break, spots
saturated, logo-free, 9 dB louder, cards every 2 s.  Held-out: zero to two breaks of one to
four spots; each break opens and closes on black frames (0.4-1.0 s) or on hard cuts, and
separates its spots by black or by hard cuts; the programme's narration usually stops 3-15 s
before the break (a "tail" with only the bed, or with the bed faded out: ``tail`` events) and
may resume a few seconds after it; spots differ in style: some muted (saturation 0.35-0.7),
some keeping the station logo, some letter- or pillarboxed, some a single calm card without
motion, cards every 2-7 s, speech from 2 dB quieter to 10 dB louder than the programme with
beds of other jingles and levels; one spot may air in both breaks.  Files 3 and 8 (of each
ten) have no ads at all.

Every file's recipe is a pure function of its index and the family seed, so the family is
reproducible and cached by recipe digest like every other scenario.  Knows nothing about
vidq's decoders, models or jobs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

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

FAMILY = "heldout"
DEFAULT_SEED = 2000  # file i's recipe uses seed DEFAULT_SEED + i
NO_AD_FILES = (3, 8)  # file indices (mod 10) without any ad


TOPICS: tuple[Topic, ...] = (
    Topic("Canal boats", (
        "Today we drift along the narrow canals that cross the middle of the country.",
        "A traditional narrowboat is just seven feet wide, so two can share a lock.",
        "The canal at Brindley Wharf opened in 1772 to carry coal to the city.",
        "Horses once pulled the boats along a towpath beside the water.",
        "Lock keeper Gwen Harlow has opened the same gates for thirty one years.",
        "Boaters travel at walking pace, about four miles an hour.",
        "In winter many families moor up and live aboard.",
    ), ((2, "In what year did the canal at Brindley Wharf open?", ("1772", "1822", "1745", "1801")),
        (4, "Who looks after the lock gates?", ("Gwen Harlow", "Mabel Stroud", "Ruth Keeling", "Iris Dunmore"))),
        "0x2f6f8f", "cellauto"),
    Topic("Cheese making", (
        "Our next visit takes us to a dairy high in the valley, where cheese is still made by hand.",
        "It takes roughly ten litres of milk to make a single kilo of hard cheese.",
        "Rennet is added to the warm milk so that it sets into curds and whey.",
        "The curds are cut, stirred and pressed into round wooden moulds.",
        "Cheesemaker Otto Brandt turns every wheel in his cellar twice a week.",
        "The cellar stays at a steady eleven degrees all year.",
        "The oldest wheels mature for almost three years before they are sold.",
    ), ((1, "How much milk goes into one kilo of hard cheese?", ("About ten litres", "About one litre",
                                                                "About fifty litres", "About three litres")),
        (4, "How often are the wheels in Otto Brandt's cellar turned?", ("Twice a week", "Every day", "Once a month",
                                                                         "Three times a year"))),
        "0x8a6d3b", "mandelbrot"),
    Topic("Tide pools", (
        "Let us walk out onto the rocks at low tide and peer into the pools.",
        "Sea anemones close up like soft fists when the water drains away.",
        "A single starfish can regrow an arm that it has lost.",
        "Hermit crabs move into bigger empty shells as they grow.",
        "The warden at Pebble Cove, Dara Quinn, counts the crabs every spring.",
        "Visitors should put every stone back exactly where they found it.",
        "When the tide returns, the pools vanish under two metres of water.",
    ), ((2, "What can a starfish do after losing an arm?", ("Grow it back", "Change colour", "Swim faster",
                                                           "Nothing at all")),
        (4, "Who counts the crabs at Pebble Cove?", ("Dara Quinn", "Leo Marsh", "Nell Crosby", "Ada Pike"))),
        "0x1f7a6a", "sierpinski"),
    Topic("Clock repair", (
        "In a tiny workshop above the market square, old clocks are brought back to life.",
        "A grandfather clock's pendulum swings once every second.",
        "Most antique clocks need a gentle cleaning every ten years.",
        "The town hall clock was installed in 1908 and still strikes every hour.",
        "Repairer Felix Ortega makes missing gear wheels on a small lathe.",
        "Clock oil is applied with a needle, one tiny drop at a time.",
        "A well kept clock can lose less than a minute in a month.",
    ), ((3, "When was the town hall clock installed?", ("1908", "1890", "1936", "1875")),
        (4, "What does Felix Ortega make on his lathe?", ("Missing gear wheels", "Wooden toys", "Brass keys",
                                                         "Picture frames"))),
        "0x6a4f7a", "testsrc"),
    Topic("Kite flying", (
        "Up on the windy downs, kite fliers gather every weekend.",
        "A steady breeze of ten to twenty miles an hour suits most kites.",
        "Stunt kites have two lines, so the pilot can steer loops and dives.",
        "The largest kite at the festival was shaped like a whale and needed six people to launch it.",
        "Kites were used in China more than two thousand years ago to send signals.",
        "Never fly near power lines or in a thunderstorm.",
        "A tail adds drag and keeps a simple kite pointing into the wind.",
    ), ((1, "Which wind suits most kites?", ("A breeze of ten to twenty miles an hour", "Under two miles an hour",
                                             "Fifty miles an hour", "No wind at all")),
        (3, "How many people did it take to launch the whale kite?", ("Six", "Two", "Twelve", "One"))),
        "0x3d8fd1", "cellauto"),
    Topic("Olive harvest", (
        "In the hills of the south, the olive harvest begins in late autumn.",
        "Nets are spread under each tree and the branches are gently shaken.",
        "Some of the trees on the Varela estate are over six hundred years old.",
        "The olives must reach the mill within a day to keep the oil fresh.",
        "About five kilos of olives give one litre of oil.",
        "Green olives give a sharper, peppery taste than ripe black ones.",
        "At the end of the harvest the pickers share a long meal under the trees.",
    ), ((2, "How old are some of the trees on the Varela estate?", ("Over six hundred years", "About sixty years",
                                                                   "Ten years", "Over two thousand years")),
        (4, "How many kilos of olives make a litre of oil?", ("About five", "About one", "About twenty",
                                                             "About fifty"))),
        "0x6f7f2f", "mandelbrot"),
    Topic("Radio telescopes", (
        "Far from city lights, giant dishes listen to the sky.",
        "A radio telescope collects faint radio waves instead of visible light.",
        "The dish at Harrow Moss is seventy six metres across.",
        "Phones and microwave ovens can spoil the signal, so they are banned near the site.",
        "Astronomer Priya Lal discovered a new pulsar here in 2019.",
        "Pulsars spin and flash like beacons in space.",
        "The telescope can be steered to any part of the sky in ten minutes.",
    ), ((2, "How wide is the dish at Harrow Moss?", ("Seventy six metres", "Twelve metres", "Two hundred metres",
                                                    "Forty metres")),
        (4, "What did Priya Lal find?", ("A new pulsar", "A comet", "A new moon", "A black hole"))),
        "0x2a3f6a", "sierpinski"),
    Topic("Wool dyeing", (
        "In a stone barn by the river, wool is dyed with plants from the hedgerow.",
        "Onion skins give a warm golden yellow.",
        "Madder root has been used for red dye for thousands of years.",
        "The wool soaks in a bath of alum so the colour will not wash out.",
        "Dyer Maeve Corrigan keeps notes on every batch in a blue notebook.",
        "Indigo is the trickiest dye, turning from green to blue as it meets the air.",
        "One fleece makes enough yarn for about two jumpers.",
    ), ((3, "Why is the wool soaked in alum?", ("So the colour will not wash out", "To make it softer",
                                               "To keep moths away", "To make it heavier")),
        (4, "Where does Maeve Corrigan record each batch?", ("In a blue notebook", "On the barn wall",
                                                            "On a computer", "Nowhere"))),
        "0x8f3f5f", "testsrc"),
    Topic("Salmon migration", (
        "Every autumn, salmon return from the ocean to the river where they hatched.",
        "They can leap waterfalls more than three metres high.",
        "The fish stop eating once they enter fresh water.",
        "At the Kell Falls fish ladder, volunteers counted four thousand salmon last year.",
        "Bears and eagles gather along the banks for the feast.",
        "The journey upstream can take as long as three months.",
        "Young salmon stay in the river for two years before heading to sea.",
    ), ((1, "How high can the salmon leap?", ("More than three metres", "Half a metre", "Ten metres",
                                             "They cannot leap")),
        (3, "How many salmon were counted at Kell Falls last year?", ("Four thousand", "Four hundred",
                                                                     "Forty thousand", "Fourteen"))),
        "0x3f6f5f", "cellauto"),
    Topic("Suspension bridges", (
        "Next, the engineering behind the great suspension bridges.",
        "Two main cables hang from tall towers and carry the weight of the deck.",
        "Each cable on the Alder Strait bridge holds over twenty thousand steel wires.",
        "The deck is shaped like a wing so strong winds slide past it.",
        "Painters work all year round, because the steel must never rust.",
        "Chief engineer Hana Sato checks the cables with a robot that climbs them.",
        "On hot days the deck grows longer by almost a metre.",
    ), ((2, "How many steel wires are in each cable of the Alder Strait bridge?", (
        "Over twenty thousand", "About two hundred", "Exactly fifty", "About two million")),
        (5, "How does Hana Sato inspect the cables?", ("With a robot that climbs them", "From a helicopter",
                                                      "With a telescope", "By diving"))),
        "0x5f5f7f", "mandelbrot"),
    Topic("Mushroom foraging", (
        "After the first autumn rains, the woods fill with mushrooms.",
        "Never eat a wild mushroom unless an expert has checked it.",
        "Chanterelles smell faintly of apricots.",
        "A mushroom is only the fruit of a much larger network under the soil.",
        "Our guide, Bruno Falk, carries a wicker basket so the spores can fall through.",
        "Some fungi glow faintly green in the dark.",
        "Pick only what you need and leave the rest for the forest.",
    ), ((2, "What do chanterelles smell of?", ("Apricots", "Garlic", "Pine needles", "Smoke")),
        (4, "Why does Bruno Falk use a wicker basket?", ("So the spores can fall through", "Because it is lighter",
                                                        "To keep the mushrooms cold", "It was a gift"))),
        "0x5a4a2a", "sierpinski"),
    Topic("Jazz drumming", (
        "Now, a night at the jazz club and the art of the drummer.",
        "A jazz drummer keeps time mostly on the ride cymbal.",
        "Brushes made of thin wire give a soft swishing sound.",
        "The house drummer, Curtis Bell, has played at the club every Friday since 1994.",
        "Trading fours means each player takes a four bar solo in turn.",
        "A good drummer listens more than they play.",
        "The club's old drum kit once belonged to a famous big band.",
    ), ((1, "What does a jazz drummer mostly keep time on?", ("The ride cymbal", "The bass drum", "The cowbell",
                                                             "The piano")),
        (3, "Since when has Curtis Bell played at the club?", ("1994", "2004", "1984", "1999"))),
        "0x7a2f2f", "testsrc"),
    Topic("Tea plantations", (
        "High on misty slopes, tea bushes are trimmed into neat green rows.",
        "Only the top two leaves and a bud are picked from each shoot.",
        "A skilled picker gathers about thirty kilos of leaf in a day.",
        "Black and green tea come from the very same plant.",
        "The leaves are withered, rolled and dried within a few hours.",
        "The Misthill estate has grown tea since 1869.",
        "Unlike coffee, tea grows best in cool mountain air.",
    ), ((1, "Which part of each shoot is picked?", ("The top two leaves and a bud", "Only the stem", "The roots",
                                                   "The lowest leaves")),
        (5, "Since when has the Misthill estate grown tea?", ("1869", "1929", "1799", "1901"))),
        "0x2f7f3f", "cellauto"),
    Topic("Violin making", (
        "In a quiet workshop, a violin maker carves spruce and maple.",
        "The top of a violin is spruce, and the back is usually maple.",
        "Seasoned wood is stored for at least ten years before it is carved.",
        "Luthier Elena Rossi finishes about six instruments a year.",
        "The varnish goes on in more than twenty thin coats.",
        "A small wooden post inside, called the sound post, carries the vibration.",
        "A new violin sounds better after it has been played for a while.",
    ), ((2, "How long is the wood stored before it is carved?", ("At least ten years", "One week", "Six months",
                                                                "It is used fresh")),
        (3, "How many instruments does Elena Rossi finish in a year?", ("About six", "About sixty", "One",
                                                                       "About two hundred"))),
        "0x7f5a2f", "mandelbrot"),
    Topic("Ice fishing", (
        "When the northern lakes freeze, fishing villages appear on the ice.",
        "The ice must be at least ten centimetres thick before anyone walks on it.",
        "Anglers drill a round hole with a hand auger.",
        "Small wooden huts keep the wind off while they wait.",
        "Perch and pike are the most common catch.",
        "Last winter, Sven Aaland pulled a nine kilo pike through his hole.",
        "Everyone leaves the lake before the spring thaw.",
    ), ((1, "How thick must the ice be before people walk on it?", ("At least ten centimetres", "One centimetre",
                                                                   "Two metres", "Any thickness")),
        (5, "How heavy was Sven Aaland's pike?", ("Nine kilos", "Two kilos", "Twenty kilos", "Half a kilo"))),
        "0x5f8faf", "sierpinski"),
    Topic("Hot air balloons", (
        "At dawn, a field fills with the bright shapes of hot air balloons.",
        "Balloons fly best in the calm air just after sunrise.",
        "A burner heats the air inside the envelope to about one hundred degrees.",
        "The pilot steers by climbing or sinking to find winds that blow another way.",
        "The basket is woven from willow, which bends instead of breaking.",
        "The first passengers, in 1783, were a sheep, a duck and a rooster.",
        "Balloon pilots keep in touch by radio with the nearest airport and its flights.",
    ), ((3, "How does a balloon pilot change direction?", ("By changing height to find other winds",
                                                          "With a rudder", "With a propeller",
                                                          "By pulling ropes from the ground")),
        (5, "Who were the first balloon passengers?", ("A sheep, a duck and a rooster", "Two soldiers",
                                                      "A king and queen", "A dog and a cat"))),
        "0xb0703a", "testsrc"),
)

NEEDLES: tuple[Needle, ...] = (
    Needle("speech", "The locker combination is 9 2 6.", "the locker combination"),
    Needle("screen", "EXIT 17 NORTH", "exit 17 north"),
    Needle("speech", "Our rendezvous is the blue bandstand in the park.", "where is the rendezvous"),
    Needle("screen", "VELVET OTTER BAKERY", "velvet otter bakery"),
    Needle("speech", "The spare key is hidden under the green flowerpot.", "where is the spare key hidden"),
    Needle("screen", "MANGO EXPRESS", "the sign that says mango express"),
    Needle("speech", "The courier arrives on Tuesday at noon.", "when does the courier arrive"),
    Needle("screen", "DOCK 9 OPEN", "dock 9 open"),
    Needle("speech", "Tonight's guest is the astronaut Lena Varga.", "who is tonight's guest"),
    Needle("screen", "ROOM 204 QUIET", "room 204 quiet"),
    Needle("speech", "The wifi password is midnight tulip.", "what is the wifi password"),
    Needle("screen", "LAST FERRY 22:40", "when is the last ferry"),
)

_MUTED = TextLook(22, "white", None, "(w-text_w)/2", "(h-text_h)/2", border=2)  # outlined, no box
_BANNER = TextLook(20, "0x101010", "white@0.85", "(w-text_w)/2", "h-text_h-22")  # a lower banner
_TOP = TextLook(24, "yellow", "black@0.4", "16", "16")

ADS: tuple[Ad, ...] = (
    Ad("Brisk Cola", "Brisk Cola. Sharp bubbles, real cane sugar and a twist of lime. Grab two bottles for three dollars.",
       ("BRISK COLA", "CANE SUGAR + LIME", "2 FOR $3"), ("0x8a3030", "0x6a5a40", "0x8a3030"), "full",
       category="soda", avoid=("soda", "pop", "soft drink", "fizzy"), voice="en-us-nyc", wpm=185, loud_db=0.0,
       bed_db=-36.0, jingle=(392.0, 494.0, 587.0), note=0.4, saturation=0.5, keeps_logo=True, card_seconds=5.0,
       text=_MUTED, mover=False, seconds=15.0),
    Ad("Orbit X9", "Meet the Orbit X9. A six inch screen, a camera that sees in the dark, and a battery that lasts two "
       "whole days.", ("ORBIT X9", "NIGHT CAMERA", "2-DAY BATTERY"), ("0x101828", "0x283850", "0x101828"), "full",
       category="phone", query="ad for a phone",
       avoid=("phone", "smartphone", "mobile", "cellphone", "cell", "handset", "telephone"), voice="en-gb-x-rp+f2",
       wpm=165, loud_db=4.0, bed_db=-30.0, jingle=(110.0, 165.0, 220.0), note=0.6, card_seconds=4.0,
       text=TextLook(24, "0x9fd8ff", None, "(w-text_w)/2", "h-text_h-30"), seconds=20.0),
    Ad("Vantor Ridge", "The new Vantor Ridge. Five seats, all wheel drive, and three hundred miles from one charge. "
       "Book a test drive this weekend.", ("VANTOR RIDGE", "ALL-WHEEL DRIVE", "300 MILE RANGE", "TEST DRIVE TODAY"),
       ("0x406080", "0x8090a0", "0x406080", "0xc0c0c0"), "letterbox", category="car", query="ad for a car",
       avoid=("car", "automobile", "vehicle", "suv"), voice="en-gb+m3", wpm=160, loud_db=6.0, bed_db=-26.0,
       jingle=(146.8, 220.0, 293.7), note=0.5, card_seconds=3.0, text=_BANNER, seconds=20.0),
    Ad("Nonna Rosa's", "Nonna Rosa's. Thin crust, bubbling mozzarella, fresh from the wood fired oven and at your door "
       "in thirty minutes.", ("NONNA ROSA'S", "WOOD FIRED", "30 MIN TO YOUR DOOR"), ("0xe02020", "0x20a040", "0xf0f0f0"),
       "full", category="pizza", avoid=("pizza", "pizzeria"), voice="en-029+f4", wpm=175, loud_db=10.0, bed_db=-20.0,
       jingle=(523.0, 587.0, 659.0, 784.0), note=0.2, card_seconds=2.0, text=_TOP, seconds=12.0),
    Ad("Harbor Shield", "When a storm tears off your roof, Harbor Shield pays for the repairs. Get a quote in five "
       "minutes.", ("HARBOR SHIELD", "QUOTE IN 5 MINUTES"), ("0x305878", "0x305878"), "full",
       category="insurance", avoid=("insurance", "insure", "insured", "insurer"), voice="en-gb-scotland+f3", wpm=150,
       loud_db=2.0, bed_db=-34.0, jingle=(261.6, 329.6, 392.0), note=0.8, saturation=0.6, keeps_logo=True,
       card_seconds=7.0, text=_BANNER, mover=False, seconds=15.0),
    Ad("Stride Pro", "Stride Pro runners. Springy foam soles and laces that never come undone. Go further this spring.",
       ("STRIDE PRO", "SPRING FOAM SOLES", "GO FURTHER"), ("0xff6000", "0x00c0ff", "0xffe000"), "pillarbox",
       category="shoes", query="ad for running shoes", avoid=("shoe", "shoes", "sneaker", "sneakers", "footwear",
                                                            "trainers"),
       voice="en-gb-x-gbcwmd+m2", wpm=190, loud_db=8.0, bed_db=-22.0, jingle=(659.0, 784.0, 988.0, 1175.0),
       note=0.15, card_seconds=2.0, seconds=12.0),
    Ad("Morning Ember", "Morning Ember dark roast. Beans picked by hand and roasted slowly for a bolder cup.",
       ("MORNING EMBER", "DARK ROAST", "A BOLDER CUP"), ("0x5a3a28", "0x7a5038", "0x5a3a28"), "full",
       category="coffee", avoid=("coffee", "espresso", "latte", "cappuccino"), voice="en-gb-x-rp+f2", wpm=140,
       loud_db=-2.0, bed_db=-38.0, jingle=(196.0, 233.1, 293.7), note=1.0, saturation=0.7, card_seconds=5.0,
       text=_MUTED, mover=False, seconds=15.0),
    Ad("Skylark", "Fly Skylark to forty cities. Extra legroom in every row, and your first bag travels free.",
       ("SKYLARK", "40 CITIES", "FIRST BAG FREE"), ("0x3a80e0", "0xf0f0ff", "0x3a80e0"), "letterbox",
       category="airline", query="ad for an airline", avoid=("airline", "airlines", "airplane", "aeroplane", "plane"),
       voice="en-us-nyc", wpm=170, loud_db=5.0, bed_db=-28.0, jingle=(440.0, 554.4, 659.3), note=0.35,
       keeps_logo=True, card_seconds=3.0, text=TextLook(22, "0x0a2a60", "white@0.7", "(w-text_w)/2", "20"),
       seconds=15.0),
    Ad("Blossom Clean", "Grass stains, red wine, muddy socks. One cap of Blossom Clean lifts them out in a single wash.",
       ("BLOSSOM CLEAN", "ONE CAP. ONE LOAD."), ("0xf080c0", "0x80e0ff"), "full", category="detergent",
       avoid=("detergent", "soap", "laundry"), voice="en-gb-scotland+f3", wpm=175, loud_db=7.0, bed_db=-24.0,
       jingle=(587.0, 740.0, 880.0), note=0.25, card_seconds=2.5, text=_TOP, seconds=12.0),
    Ad("Ledger and Pine", "Open a savings account with Ledger and Pine and earn four percent a year. No monthly fees, "
       "ever.", ("LEDGER & PINE", "4% ON SAVINGS", "NO MONTHLY FEES"), ("0x204030", "0x305040", "0x204030"), "full",
       category="bank", query="ad for a bank", avoid=("bank", "banks", "banking"), voice="en-gb+m3", wpm=145,
       loud_db=1.0, bed_db=-36.0, jingle=(174.6, 220.0, 261.6), note=1.2, saturation=0.35, keeps_logo=True,
       card_seconds=6.0, text=_MUTED, mover=False, seconds=15.0),
    Ad("Glacier Smile", "Glacier Smile with fluoride. Whiter teeth in two weeks, and breath that stays fresh all day.",
       ("GLACIER SMILE", "WHITER IN 2 WEEKS"), ("0x40d0f0", "0xffffff"), "pillarbox", category="toothpaste",
       avoid=("toothpaste",), voice="en-029+f4", wpm=165, loud_db=9.0, bed_db=-22.0, jingle=(784.0, 988.0, 1175.0),
       note=0.2, card_seconds=2.0, text=TextLook(22, "0x003050", "white@0.6", "(w-text_w)/2", "(h-text_h)/2"),
       seconds=10.0),
    Ad("Loyal Bowl", "Real chicken and brown rice in every scoop of Loyal Bowl. Your puppy will thank you.",
       ("LOYAL BOWL", "REAL CHICKEN", "HAPPY PUPPIES"), ("0xc08030", "0x70a040", "0xc08030"), "full",
       category="dog food", avoid=("dog", "dogs", "dog food", "pet food"), voice="en-us-nyc", wpm=160, loud_db=3.0,
       bed_db=-30.0, jingle=(330.0, 392.0, 494.0), note=0.5, saturation=0.6, card_seconds=4.0, text=_BANNER,
       seconds=12.0),
    Ad("Cloudrest", "Sleep deeper on a Cloudrest. Seven layers of cool foam, delivered rolled up in a box.",
       ("CLOUDREST", "7 LAYERS OF FOAM", "100 NIGHT TRIAL"), ("0xb0c0e0", "0x8090c0", "0xb0c0e0"), "letterbox",
       category="mattress", query="ad for a mattress", avoid=("mattress", "mattresses", "bed", "beds"),
       voice="en-gb-x-gbcwmd+m2", wpm=135, loud_db=0.0, bed_db=-40.0, jingle=(220.0, 261.6, 329.6), note=1.5,
       card_seconds=5.0, text=TextLook(20, "0x102040", None, "(w-text_w)/2", "(h-text_h)/2"), mover=False,
       seconds=15.0),
    Ad("Pulse Buds", "Pulse Buds shut out the noise of the city. Thirty hours of music on a single charge.",
       ("PULSE BUDS", "30 HOURS", "SHUT OUT THE CITY"), ("0xa000ff", "0x00ff90", "0xff0060"), "full",
       category="headphones", avoid=("headphones", "headphone", "earbuds", "earphones", "headset"), voice="en-gb+m3",
       wpm=180, loud_db=9.0, bed_db=-20.0, jingle=(880.0, 1046.5, 1318.5), note=0.12, card_seconds=2.0,
       text=_TOP, seconds=12.0),
)

SPONSORS: tuple[Sponsor, ...] = (
    Sponsor("Greenbasket Meals", "Today's episode is brought to you by Greenbasket Meals. Fresh ingredients and simple "
                                 "recipes arrive at your door every week. Try your first box free with the link in the "
                                 "description."),
    Sponsor("Quillnote", "Support for this programme comes from Quillnote, the notebook app that keeps your ideas in "
                         "step on all your devices. Get a free month at quillnote dot app."),
    Sponsor("Lumen Courses", "A quick thanks to our partner, Lumen Courses. Thousands of online classes taught by real "
                             "experts. Enter EXPLORE at checkout for half off."),
    Sponsor("Northwind Hosting", "This part of the show is made possible by Northwind Hosting. Launch a fast website "
                                 "in one click. Head to northwind hosting dot net to start."),
)

# -- looks ------------------------------------------------------------------------------------------
VOICES: tuple[tuple[str, int], ...] = (  # (programme voice, words per minute), one per file (cycling)
    ("en-gb-x-rp", 165), ("en-gb-scotland", 145), ("en-us+f2", 175), ("en-gb-x-gbclan+m3", 150), ("en-029", 140),
    ("en-us-nyc+m5", 180), ("en-gb+f4", 160), ("en-gb-x-gbcwmd", 135), ("en-gb-x-rp+f3", 190),
    ("en-gb-scotland+m7", 155),
)
FONTS: tuple[tuple[str, ...], ...] = (  # candidate files, first installed wins; the last of each is in fonts-dejavu-core
    ("DejaVuSerif.ttf",),
    ("LiberationSans-Regular.ttf", "DejaVuSans.ttf"),
    ("LiberationSerif-Bold.ttf", "DejaVuSerif-Bold.ttf"),
    ("DejaVuSansCondensed-Bold.ttf", "DejaVuSans-Bold.ttf"),
    ("LiberationSansNarrow-Bold.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVuSans.ttf",),
    ("LiberationSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVuSerif-Bold.ttf",),
)
CAPTIONS: tuple[tuple[TextLook, str], ...] = (  # (caption look, the logo corner it leaves free)
    (TextLook(14, "yellow", "0x102060@0.8", "(w-text_w)/2", "h-28"), "tl"),
    (TextLook(18, "white", None, "10", "10", border=2), "br"),
    (TextLook(13, "black", "white@0.85", "w-text_w-10", "h-26"), "tr"),
    (TextLook(20, "0xffe0a0", "0x503020@0.75", "(w-text_w)/2", "14"), "bl"),
    (TextLook(15, "white", "0xa02020@0.8", "10", "(h-text_h)/2"), "br"),
)
SIGNS: tuple[TextLook, ...] = (
    TextLook(20, "white", "0xc03030", "20", "30"),
    TextLook(24, "black", "0xffd84a", "(w-text_w)/2", "h-text_h-40"),
    TextLook(18, "0x202020", "0xe0f0ff", "w-text_w-20", "(h-text_h)/2"),
    TextLook(26, "white", None, "(w-text_w)/2", "(h-text_h)/2", border=3),
)
LOGOS: tuple[Logo | None, ...] = (
    Logo("NT", "tl", 14, "white", None, "0x1060a0@0.8"),
    Logo("K7", "br", 16, "white@0.6", None, None),
    Logo("CH4", "bl", 13, "yellow", "yellow@0.8", None),
    Logo("RIVR", "tr", 12, "white", None, "black@0.5"),
    None,
)
LAYOUTS: tuple[tuple[float, str], ...] = ((0.5, "rise"), (1.0, "still"), (0.4, "still"), (0.25, "slide"), (0.6, "rise"))
BEDS: tuple[tuple[tuple[float, ...], float], ...] = (  # (chord Hz, seconds per note)
    ((220.0, 277.2, 329.6), 0.8), ((174.6, 220.0, 261.6), 2.5), ((146.8, 185.0, 220.0, 277.2), 1.2),
    ((261.6, 311.1, 392.0), 2.0),
)


def heldout_style(i: int, rng: random.Random) -> Style:
    """File ``i``'s look and sound (voice by index; the rest drawn from ``rng``)."""
    voice, wpm = VOICES[i % len(VOICES)]
    fonts = rng.sample(FONTS, 2)
    caption, free_corner = rng.choice(CAPTIONS)
    logo = rng.choice(LOGOS)
    if logo is not None and logo.corner != free_corner:
        logo = Logo(logo.text, free_corner, logo.size, logo.color, logo.frame, logo.fill)
    panel, motion = rng.choice(LAYOUTS)
    chord, note = rng.choice(BEDS)
    return Style(
        voice=voice, wpm=wpm, fonts=fonts[0], ad_fonts=fonts[1],
        speech_db=round(rng.uniform(-28.0, -20.0), 1), bed_db=round(rng.uniform(-46.0, -34.0), 1),
        bed_chord=chord, bed_note=note,
        noise_db=None if rng.random() < 0.2 else round(rng.uniform(-68.0, -58.0), 1),
        black=round(rng.uniform(0.4, 1.0), 1), caption=caption, caption_seconds=float(rng.randint(3, 6)),
        sign=rng.choice(SIGNS), sign_seconds=float(rng.randint(4, 8)), logo=logo, panel=panel, motion=motion,
        shot_seconds=0.0 if rng.random() < 0.3 else float(rng.randint(8, 15)),
    )


def read_seconds(text: str, wpm: int) -> float:
    """A generous estimate of how long espeak-ng takes to say ``text`` at ``wpm``."""
    return len(text.split()) * 60.0 / wpm * 1.25 + 1.0


def heldout_recipe(i: int, seed: int = DEFAULT_SEED) -> Recipe:
    """File ``i`` of the held-out family: 3-4 topics (4 without ads) of 50-65 s, 2-4 needles, 0-2 breaks of 1-4 spots, maybe a sponsor."""
    rng = random.Random(seed + i)
    style = heldout_style(i, rng)
    n_breaks, topics, topic_seconds, needles, depths = draw_programme(i, rng, TOPICS, NEEDLES, NO_AD_FILES, (50, 65))
    n_topics = len(topics)

    breaks: list[BreakSpec] = []
    break_topics = sorted(rng.sample(range(n_topics), n_breaks)) if n_breaks else []
    aired: list[Ad] = []
    for ti in break_topics:
        n_spots = rng.choice((1, 2, 2, 3, 3, 4))
        spots = [ad for ad in rng.sample(ADS, len(ADS)) if ad not in aired][:n_spots]
        if aired and rng.random() < 0.3:  # the first break's first spot airs again
            spots[rng.randrange(len(spots))] = aired[0]
        aired += spots
        tail = 0.0 if rng.random() < 0.2 else float(rng.randint(3, 15))
        at_change = ti > 0 and rng.random() < 0.3  # the break sits at the topic change
        lo = style.caption_seconds + 3.0 + tail
        offset = 0.0 if at_change else float(rng.randint(int(lo), int(topic_seconds - 8.0)))
        tail = clamp_tail(tail, breaks, ti, offset, topic_seconds)
        breaks.append(BreakSpec(
            topic=ti, offset=offset, ads=tuple(spots), edges=rng.choice(("black", "black", "cut")),
            between=rng.choice(("black", "cut")), black=round(rng.uniform(0.4, 1.0), 1), tail=tail,
            tail_bed=rng.random() < 0.6, resume=float(rng.randint(0, 3))))

    sponsor = None
    read = SPONSORS[i % len(SPONSORS)]
    if rng.random() < 0.7:
        length = read_seconds(read.text, style.wpm)
        where = rng.choice(("start", "middle", "after-break", "end"))
        candidates = {
            "start": (0, 1.0),
            "middle": (n_topics // 2, topic_seconds / 2 - length / 2),
            "after-break": (breaks[0].topic, breaks[0].offset + breaks[0].resume + 2.0) if breaks else None,
            "end": (n_topics - 1, topic_seconds - length - 1.5),
        }
        order = [where] + [w for w in ("middle", "start", "end") if w != where]
        for w in order:
            spot = candidates.get(w)
            if spot is not None and clear_of_breaks(spot, length, breaks, topic_seconds):
                sponsor = spot
                break
    return Recipe(
        name=f"heldout-{i:02d}", topics=topics, topic_seconds=topic_seconds,
        needles=tuple(zip(needles, depths)), breaks=tuple(breaks), sponsor=sponsor, sponsor_read=read,
        gap=(round(rng.uniform(0.6, 1.5), 1), round(rng.uniform(1.8, 3.5), 1)),
        spot_seconds=12.0, seed=seed + i, family=FAMILY, style=style,
    )


def draw_programme(i: int, rng: random.Random, topics: Sequence[Topic], needles: Sequence[Needle],
                   no_ad_files: Sequence[int], seconds: tuple[int, int]):
    """File ``i``'s ``(breaks, topics, topic seconds, needles, needle depths)``: 0-2 breaks (none
    for ``no_ad_files``), 3-4 of ``topics`` (4 without ads) of ``seconds`` each, 2-4 ``needles``."""
    n_breaks = 0 if i % 10 in no_ad_files else rng.choice((1, 1, 2))
    n_topics = 4 if n_breaks == 0 else rng.choice((3, 4))
    chosen = tuple(rng.sample(topics, n_topics))
    topic_seconds = float(rng.randint(*seconds))
    picked = tuple(rng.sample(needles, rng.randint(2, 4)))
    depths = sorted(rng.uniform(0.05, 0.95) for _ in picked)
    return n_breaks, chosen, topic_seconds, picked, depths


def clamp_tail(tail: float, breaks: Sequence[BreakSpec], topic: int, offset: float, topic_seconds: float) -> float:
    """A break's speechless tail, cut so that it never reaches back to the previous break."""
    if not breaks:
        return tail
    prev = breaks[-1]
    room = (topic - prev.topic) * topic_seconds + offset - prev.offset - prev.resume - 4.0
    return float(max(0, min(tail, int(room))))


def clear_of_breaks(spot: tuple[int, float], length: float, breaks: list[BreakSpec], topic_seconds: float) -> bool:
    """A sponsor read at ``spot`` stays inside its topic and 2 s clear of every break and its tail."""
    ti, off = spot
    if off < 0.5 or off + length > topic_seconds - 1.0:
        return False
    p0, p1 = ti * topic_seconds + off, ti * topic_seconds + off + length
    for b in breaks:
        bp = b.topic * topic_seconds + b.offset
        if p0 < bp + b.resume + 2.0 and p1 > bp - b.tail - 2.0:
            return False
    return True

