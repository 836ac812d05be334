"""Model cards: a Markdown page per trained weights file, written from the run's record."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ..dataset.reader import MANIFEST, RECIPE, read_manifest
from ..models.weights import load_weights, save_weights

DESCRIPTIONS = {
    "sync": "Sync expert (feature extraction subnetwork): 5 frames of S20 passes (mouth blur "
            "picture + gradient map, {size}x{size} face crops) and 0.2 s of MFCC -> 64-d "
            "embeddings whose cosine says whether picture and sound are in sync.",
    "generator": "Generator (decoder subnetwork): S20 passes + lip-contour heatmap + a "
                 "reference crop, conditioned on the frozen sync expert's visual and audio "
                 "embeddings -> the {size}x{size} face crop (RGB head) or, with the warping "
                 "head, a flow, a blend and a colour per crop pixel that move the reference "
                 "frame's own pixels at the frame's resolution and draw only what it lacks "
                 "(docs/method.md); composited back inside the "
                 "feathered mouth-region mask. Trained against a PatchGAN discriminator (BCE) with "
                 "L1 and sync losses (and 1 - SSIM of the mouth region with --ssim-weight), "
                 "then the adjacent-frame fine-tune.",
    "parser": "Face parser: U-Net on {size}x{size} face crops -> 12 classes (background, skin, "
              "brows, eyes, nose, upper lip, teeth, lower lip, hair, mouth interior), "
              "cross-entropy, then the adjacent-frame fine-tune on pseudo labels.",
    "visemes": "Viseme reader: 0.66 s of log-mel each side of a 10 ms column -> the weights of "
               "seven mouth shapes (neutral, closed, open, wide, round, lip on teeth, tongue "
               "on teeth) that sum to 1, learnt from the factory's phoneme-to-viseme weights.",
    "detail": "Detail network: a generated mouth's colour, scaled from the 64 px crop up to "
              "the frame's pixels (bicubic), with the scale as a fourth channel -> the same "
              "colour with a render's sharp edges (dilated 3x3 convolutions over 2 x 2 pixel "
              "blocks, a residual; squared error against renders at 512 px cut to 64 px and "
              "scaled back).",
}


HEADLINE = {"sync": "accuracy", "parser": "miou", "generator": "neutral_motion_corr",
            "visemes": "opening_corr", "detail": "sharpness"}

INTENDED_USE = {
    "sync": "Inside this extension: the frozen expert the generator is trained against "
            "(its sync loss and its conditioning embeddings), and, as a separately trained "
            "copy, the evaluation's judge of LSE-D / LSE-C. Not a general-purpose "
            "audio-visual sync detector for real footage.",
    "generator": "Inside this extension's pipeline: remaking the mouth of a rendered "
                 "(stylised, CG) character's face crop to follow a speech track, composited "
                 "back only inside the mouth region. On real footage only the warping head's "
                 "output keeps the person's own lips and teeth (moved), and it has not been "
                 "measured there.",
    "parser": "Inside this extension's pipeline: the mouth matte of the composite, and the "
              "evaluation's mouth-opening measure, on rendered characters' face crops.",
    "visemes": "Inside this extension: choosing, for each frame of a new speech track, the "
               "learnt character's own mouth (its mouth bank) whose speech read alike.",
    "detail": "Inside this extension's pipeline (final quality): the edges of the colour the "
              "generator draws, once scaled to the mouth's size in the frame; the warped "
              "reference pixels it leaves alone.",
}

LIMITATIONS = {
    "sync": "Trained on {size} px crops of the data factory's synthetic characters (Workbench "
            "and Cycles renders, synthesised speech in English, German, Spanish, French "
            "and Italian); about 0.9 accuracy on held-out characters, and unsure (low "
            "confidence) on some of them. Untested on other styles, languages and real "
            "voices.",
    "generator": "Made at {size} px and trained on a 2-core CPU on synthetic characters: its "
                 "mouths open less than the truth's and what it draws (RGB head: the whole "
                 "mouth; warping head: the mouth's inside) is {size} px detail, soft when the "
                 "mouth is larger in the frame (README: Evaluation, Limits); with a talking "
                 "(dubbed) input it still partly follows the source mouth. "
                 "Untested on real voices.",
    "parser": "Trained on labelled synthetic renders at {size} px; the thin inner-lip gap is a "
              "few pixels, so its opening measure is coarse on small or soft mouths. "
              "Untested on other character styles.",
    "visemes": "Learnt from espeak-ng's synthetic voices in five languages and the "
               "factory's rule-made viseme weights: it reads what a rig driven by those "
               "rules would do, not what a person's lips do; untested on real voices, "
               "singing and noisy recordings.",
    "detail": "Learnt from Workbench renders of three stylised families (cartoon, anime, "
              "creature) at 512 px: it restores edges a 64 px crop blurred, not detail the "
              "crop never held (a wrong mouth stays wrong, only sharper); untested on "
              "realistic skin and real footage, where it may flatten texture.",
}

LICENSE = "GPL-3.0-or-later, as the extension (trained only on data this project makes)"


def data_summary(data: Path) -> str:
    """The data set's recipe and size, as Markdown lines."""
    data = Path(data)
    lines = []
    recipe = data / RECIPE
    if recipe.exists():
        r = json.loads(recipe.read_text())
        families = (f" --families {','.join(r['families'])}" if r.get("families") else "")
        lines.append(f"- recipe: `python -m lipsync dataset make --clips {r['clips']} "
                     f"--seed {r['seed']}{families}` with options `{json.dumps(r['options'])}`")
    if (data / MANIFEST).exists():
        clips = read_manifest(data)
        splits = Counter(c["split"] for c in clips)
        frames = Counter()
        for c in clips:
            frames[c["split"]] += c["frames"]
        lines.append("- size: " + ", ".join(f"{s} {splits[s]} clips / {frames[s]} frames"
                                            for s in sorted(splits)))
        lines.append("- engines: " + ", ".join(f"{k} {v}" for k, v in
                                               sorted(Counter(c["engine"] for c in clips).items())))
    return "\n".join(lines) or "- (data set folder not found when the card was written)"


def write_card(path: Path, record: dict, command: str, size_bytes: int) -> None:
    """Write the model card of `record` (see `loop._export`) to `path`; the texts above
    name the network's crop side (`{size}`)."""
    stage, size = record["stage"], record["size"]   # size: the network's crop side, px
    run = record["run"]
    metrics = "\n".join(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
                        for k, v in sorted(record["heldout"].items()))
    headline = HEADLINE.get(stage, "")
    curve = "\n".join(f"| {h['step']} | {h['seconds']} | "
                      + ", ".join(f"{k} {v:.3f}" for k, v in sorted(h["train"].items()))
                      + f" | {h['heldout'].get(headline, float('nan')):.3f} |"
                      for h in record["history"])
    split = record.get('split', 'val')
    measured_on = ("the training split `train` (not held out)" if split == "train"
                   else f"held-out split `{split}`")
    text = f"""# Model card: `{stage}.safetensors`

{DESCRIPTIONS.get(stage, '').format(size=size)}

Contents: intended use and limitations, the data it was trained on, the training command, the steps (and time, hardware), the held-out metrics and the training curve.

## Intended use
{INTENDED_USE.get(stage, '').format(size=size)}

## Limitations
{LIMITATIONS.get(stage, '').format(size=size)}

License: {LICENSE}.

## Data
{record.get('data_text') or data_summary(Path(run['data']))}

## Training command
`{command}`

## Steps
- {record['steps']} steps, batch {run['batch']}, learning rate {run['lr']}, seed {run['seed']}
- time: {record['seconds']} s on {record['device']}
- file: {size_bytes / 1e6:.2f} MB (safetensors; config and steps in its metadata)

## Metrics ({measured_on}, at the last step)
| metric | value |
|---|---|
{metrics}

Reproduce on the held-out test split: `python -m lipsync train {stage} --data DATA
--evaluate models/{stage}.safetensors --split test`.

## Training curve (training: mean losses since the previous evaluation)
| step | seconds | training | held-out {headline} |
|---|---|---|---|
{curve}
"""
    path.write_text(text)


def add_evaluation(card: Path, result: dict, command: str) -> None:
    """Put (or replace) the section with `result` (`evaluate_weights`) into the card."""
    card = Path(card)
    text = card.read_text()
    heading = f"## Metrics on split `{result['split']}`"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + 1)
        text = text[:start] + (text[end + 1:] if end != -1 else "")
    rows = "\n".join(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
                     for k, v in sorted(result["metrics"].items()))
    section = f"""{heading}

`{command}`

| metric | value |
|---|---|
{rows}
"""
    card.write_text(text.rstrip() + "\n\n" + section)


CARD_SECTIONS = {"intended_use": "## Intended use", "limitations": "## Limitations",
                 "data": "## Data", "training_command": "## Training command",
                 "training": "## Steps", "metrics": "## Metrics"}   # metadata key -> the card heading it mirrors


def stamp_card(weights: Path) -> None:
    """Copy the model card next to `weights` (same name, .md) into the file's metadata:
    the whole card (`model_card`), and its sections one by one: data, training command,
    steps and metrics (the test split's when the card has them, else the last held-out
    ones), so the weights file carries its card wherever it goes.
    The tensors are written back unchanged."""
    weights = Path(weights)
    text = weights.with_suffix(".md").read_text()
    sections = {}
    for block in text.split("\n## ")[1:]:
        heading, _, body = block.partition("\n")
        sections["## " + heading.strip()] = body.strip()
    fields = {"card": weights.with_suffix(".md").name, "model_card": text}
    for key, heading in CARD_SECTIONS.items():
        found = [body for title, body in sections.items() if title.startswith(heading)]
        test = [body for title, body in sections.items() if title == f"{heading} on split `test`"]
        if test or found:
            fields[key] = (test or found)[-1]
    tensors, metadata = load_weights(weights)
    save_weights(weights, tensors, {**metadata, **fields})
