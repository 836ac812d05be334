"""Learning one speaker's or character's mouth: the generator fine-tuned on its own frames
(`footage`, `tune`), written as a weights file that `sync --weights` uses (`weights`)."""
