"""Sentences and espeak-ng voices per language, for the synthetic data set and for Learn
Character (the user's own character spoken to).

Chosen to cover every viseme often: bilabials (m, b, p), labiodentals (f, v), dentals (th in
English), open, wide and rounded vowels, and pauses (commas, full stops). The data set
holds voices apart by split: `HELD_OUT_VOICES` are never trained on.
"""

SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "Hello! My name is Bob, and I make movies with Blender.",
        "Put the big blue box by the window, please.",
        "Five furious vultures flew over the valley.",
        "Think about the thousand things that matter.",
        "We were waiting for you all morning.",
        "Maybe Mabel baked a pumpkin pie for the party.",
        "Please pass me the pepper and the bread.",
        "Although the weather was awful, they went outside.",
        "Open the door and look at the moon.",
        "Every evening she reads a book by the fire.",
        "Who knew the food would be so good?",
        "The quick brown fox jumps over the lazy dog.",
        "I am happy, but I am also very tired.",
        "Bring the map, the lamp and the rope.",
        "Victor found five violins in the van.",
        "Three thin thieves thought about the theft.",
        "Will you walk with me to the market?",
        "My mother made marmalade on Monday.",
        "Be brave, be bold, and never give up.",
        "Oh no, the boat is floating away from the shore!",
        "Children of the city, hello and welcome.",
        "Pick up the phone when the bell rings.",
        "Fresh fish for fifty people, fine!",
        "Why would anyone move to the moon?",
    ),
    "de": (
        "Guten Morgen, mein Name ist Paul.",
        "Bitte bring mir ein Brot und Butter.",
        "Wir fahren morgen mit dem Bus nach Bremen.",
        "Mama mag Marmelade mit Milch.",
        "Fünf Vögel fliegen über das Feld.",
        "Das Wetter ist heute wunderbar.",
    ),
    "fr": (
        "Bonjour, je m'appelle Pierre.",
        "Mon petit frère boit du vin blanc.",
        "Pourquoi partez-vous si vite?",
        "Le bateau flotte sur la mer bleue.",
        "Merci beaucoup pour ce bon moment.",
        "Vous voulez voir le film ce soir?",
    ),
    "es": (
        "Hola, me llamo Pablo y vivo en Madrid.",
        "Mi madre prepara una buena paella.",
        "Vamos a la playa por la mañana.",
        "El perro bebe agua fresca.",
        "Buenas noches, hasta mañana.",
        "Pedro pinta flores en el parque.",
    ),
    "it": (
        "Buongiorno, mi chiamo Marco.",
        "Il bambino mangia una mela rossa.",
        "Prendiamo il treno per Bologna.",
        "Mamma prepara la pasta e il pane.",
        "Vorrei un bicchiere di vino bianco.",
        "Fa freddo ma il sole brilla.",
    ),
}

TRAIN_VOICES: dict[str, tuple[str, ...]] = {
    "en": ("en-us", "en-us+f3", "en-us+m3", "en-gb", "en-gb+f2"),
    "de": ("de", "de+f3"),
    "fr": ("fr", "fr+m3"),
    "es": ("es", "es+f3"),
    "it": ("it",),
}
HELD_OUT_VOICES: dict[str, tuple[str, ...]] = {
    "en": ("en-us+f4", "en-gb+m2"),
    "de": ("de+m2",),
    "fr": ("fr+f2",),
    "es": ("es+m2",),
    "it": ("it+f3",),
}
