# Two commands for a fresh machine: `make demo` and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BL_EXT := $(VENV)/lib/python3.11/site-packages/bpy/5.0/scripts/addons_core/bl_pkg/cli/blender_ext.py
APT_PACKAGES := espeak-ng libespeak-ng1
export BLENDER_USER_RESOURCES ?= $(CURDIR)/build/blender-user

# The shipped weights' recipe (models/*.md): the 240-clip data set, then the networks, on
# this machine (the generator alone about 12.4 hours on 2 cores, its card says per run).
# The evaluation and the judge use the same set.
DATA ?= build/data/factory
RUNS ?= build/runs
CLIPS ?= 240
DATA_SEED ?= 1
SYNC_STEPS ?= 10000
JUDGE_STEPS ?= 10000
PARSER_STEPS ?= 3000
GENERATOR_STEPS ?= 3000
# rounds of generator steps on dubbed input, each going on from the last
DUB_STEPS ?= 1500 1200 2000 2400 2400
# then rounds that add the SSIM term, STEPS:WEIGHT each
SSIM_ROUNDS ?= 2400:1 2400:2
# then the warping head (docs/method.md), grown from that generator, on the character
# families' set of the same plan size and seed
FAMILY_DATA ?= build/data/families
FAMILIES ?= cartoon,anime,creature
# rounds of the warping head, STEPS:BLEND_WEIGHT each (the blend prior, docs/training.md)
WARP_ROUNDS ?= 900:0 900:0.1 900:0.2
# then a round in which it also reads each frame's viseme weights (grown from the last)
VISEME_ROUND ?= 1200
# then rounds on the families' training characters rendered at 512 px (crops as sharp as
# a mouth 100-300 px wide in the frame), each going on from the last, STEPS:COLOUR_WEIGHT
# each (the drawn colour's own error, docs/training.md; the shipped weights' rounds saw
# the set as it grew: 43, 43, 86, 86, 128, 168 and 206 training clips, models/generator.md);
# the same set teaches the detail network (`make detail`: not shipped, docs/method.md)
HIRES_DATA ?= build/data/hires512
HIRES_PLAN := --clips 240 --seed 5 --splits train --families $(FAMILIES) --resolution 512 \
  --engine BLENDER_WORKBENCH --full-frame-share 1
HIRES_ROUNDS ?= 1200:0 1200:0 1200:0 1200:0 1200:0 1200:4 1200:4
# then rounds with bent mouths (a share of the samples given a random smooth curve across
# the lips, docs/training.md), STEPS:SHARE each, on 512 px renders of other training
# characters whose anime mouths take all seven training styles
STYLES_DATA ?= build/data/styles512
STYLES_PLAN := --clips 144 --seed 7 --splits train --families $(FAMILIES) --resolution 512 \
  --engine BLENDER_WORKBENCH --full-frame-share 1 \
  --mouth-styles line,smile,small,wide,frown,tilt,open
BEND_ROUNDS ?= 1200:0.5 1200:0.5
# then a round that grows the generator to draw its parts at twice the crop side (an outer
# level that learns alone, docs/training.md), on the same renders
SCALE_STEPS ?= 1200
# the settings the 512 px rounds share (the viseme round's, at --lr 1e-4)
SHARP_ROUND := --output warp --visemes --input-mix dub=1 --lr 1e-4 --sync-weight 0.05 \
  --cosine-lr --temporal steady --ssim-weight 2 --blend-weight 0.2 --eval-every 400 \
  --split train --eval-batches 2
DETAIL_STEPS ?= 12000

.PHONY: setup demo test test-fast bench bench-real eval eval-heldout eval-native extension \
	clean data data-families data-hires data-styles train detail judge results

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
	  { echo "Python 3.11 is needed (bpy 5.0.1 is built for it); found $$($(PYTHON) --version)." >&2; exit 1; }
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing apt packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  ($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null) || \
	  echo "warning: could not install$$missing (only the data factory needs them)" >&2; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: setup
	$(PY) -m lipsync demo --out demo/out

test: setup
	$(PY) -m pytest -q tests

test-fast: setup
	$(PY) -m pytest -q tests -m "not slow"

bench: setup
	$(PY) benchmarks/bench_preprocess.py
	$(PY) benchmarks/bench_pipeline.py

# A real talking video dubbed, measured by MediaPipe's face mesh (not the product's dlib):
# requirements-measure.txt says why --no-deps.
bench-real: setup
	$(PY) -m pip install -q -r requirements-measure.txt
	$(PY) -m pip install -q --no-deps mediapipe==0.10.14
	$(PY) benchmarks/bench_real_video.py

# The shipped weights on the held-out split of `make data` (docs/evaluation.md).
eval: setup
	$(PY) -m lipsync eval --data $(DATA) --split test --out build/eval

# The same evaluation under conditions no network was trained on: the test clips of another
# plan (seed 2: new characters, held-out voices), first as planned (24/25/30 fps, 128 px),
# then the same shots at 60 fps, then with 256 px frames (the mouth twice the size it is in
# training). About 15 min to render and 20 min to evaluate on 2 cores.
HELDOUT := build/data/heldout
HELDOUT_PLAN := --clips 150 --seed 2 --splits test --workers 2
eval-heldout: setup
	$(PY) -m lipsync dataset make --out $(HELDOUT)_control $(HELDOUT_PLAN)
	$(PY) -m lipsync eval --data $(HELDOUT)_control --split test --out build/eval_control
	$(PY) -m lipsync dataset make --out $(HELDOUT)_fps60 $(HELDOUT_PLAN) --fps 60
	$(PY) -m lipsync eval --data $(HELDOUT)_fps60 --split test --out build/eval_fps60
	$(PY) -m lipsync dataset make --out $(HELDOUT)_256 $(HELDOUT_PLAN) --resolution 256
	$(PY) -m lipsync eval --data $(HELDOUT)_256 --split test --out build/eval_256
	$(PY) -m lipsync dataset make --out $(HELDOUT)_eevee $(HELDOUT_PLAN) --engine BLENDER_EEVEE
	$(PY) -m lipsync eval --data $(HELDOUT)_eevee --split test --out build/eval_eevee

extension: setup
	mkdir -p dist
	$(PY) $(BL_EXT) build --source-dir . --output-dir dist
	$(PY) $(BL_EXT) validate dist/lipsync-$$(sed -n 's/^version = "\(.*\)"/\1/p' blender_manifest.toml).zip

data: setup
	$(PY) -m lipsync dataset make --out $(DATA) --clips $(CLIPS) --seed $(DATA_SEED) --workers 2
	$(PY) -m lipsync dataset show $(DATA)

data-families: setup
	$(PY) -m lipsync dataset make --out $(FAMILY_DATA) --clips $(CLIPS) --seed $(DATA_SEED) \
	  --families $(FAMILIES) --workers 2
	$(PY) -m lipsync dataset show $(FAMILY_DATA)

data-hires: setup
	$(PY) -m lipsync dataset make --out $(HIRES_DATA) $(HIRES_PLAN) --workers 2
	$(PY) -m lipsync dataset show $(HIRES_DATA)

data-styles: setup
	$(PY) -m lipsync dataset make --out $(STYLES_DATA) $(STYLES_PLAN) --workers 2
	$(PY) -m lipsync dataset show $(STYLES_DATA)

# sync and parser train side by side on one thread each, then the generator on two: from
# scratch on every input version, then rounds of DUB_STEPS on dubbed (else neutral) input
# only, each going on from the last at a restarted cosine learning rate, so that it follows
# the audio rather than the source mouth; then SSIM_ROUNDS that add 1 - SSIM of the mouth
# region to the loss; then the warping head on the families' set, and a round in which it
# also reads the frames' viseme weights, then the HIRES_ROUNDS on sharp 512 px renders
# and the BEND_ROUNDS and the scale-2 round on more of them (their own clips: --split
# train). The viseme reader needs no data set (it speaks its own): it trains last.
VISEME_STEPS ?= 5000
train: data data-families data-hires data-styles
	OMP_NUM_THREADS=1 $(PY) -m lipsync train sync --data $(DATA) --out $(RUNS) --steps $(SYNC_STEPS) \
	  --cosine-lr --augment --eval-every 1000 & \
	OMP_NUM_THREADS=1 $(PY) -m lipsync train parser --data $(DATA) --out $(RUNS) --steps $(PARSER_STEPS); \
	wait $$!
	$(PY) -m lipsync train generator --data $(DATA) --out $(RUNS)/base --steps $(GENERATOR_STEPS) \
	  --sync $(RUNS)/sync.safetensors --sync-weight 0.05 --cosine-lr --temporal steady
	weights=$(RUNS)/base/generator.safetensors; round=0; \
	for steps in $(DUB_STEPS); do round=$$((round + 1)); \
	  $(PY) -m lipsync train generator --data $(DATA) --out $(RUNS)/dub$$round --steps $$steps \
	    --init $$weights --sync $(RUNS)/sync.safetensors --input-mix dub=1 --lr 1e-4 \
	    --sync-weight 0.05 --cosine-lr --temporal steady || exit 1; \
	  weights=$(RUNS)/dub$$round/generator.safetensors; \
	done; \
	for r in $(SSIM_ROUNDS); do round=$$((round + 1)); \
	  $(PY) -m lipsync train generator --data $(DATA) --out $(RUNS)/dub$$round --steps $${r%%:*} \
	    --init $$weights --sync $(RUNS)/sync.safetensors --input-mix dub=1 --lr 1e-4 \
	    --sync-weight 0.05 --cosine-lr --temporal steady --ssim-weight $${r##*:} || exit 1; \
	  weights=$(RUNS)/dub$$round/generator.safetensors; \
	done; \
	for r in $(WARP_ROUNDS); do round=$$((round + 1)); \
	  $(PY) -m lipsync train generator --data $(FAMILY_DATA) --out $(RUNS)/warp$$round \
	    --steps $${r%%:*} --output warp --init $$weights --sync $(RUNS)/sync.safetensors \
	    --input-mix dub=1 --lr 1e-4 --sync-weight 0.05 --cosine-lr --temporal steady \
	    --ssim-weight 2 --blend-weight $${r##*:} --eval-every 300 || exit 1; \
	  weights=$(RUNS)/warp$$round/generator.safetensors; \
	done; \
	$(PY) -m lipsync train generator --data $(FAMILY_DATA) --out $(RUNS)/visemes \
	  --steps $(VISEME_ROUND) --output warp --visemes --init $$weights \
	  --sync $(RUNS)/sync.safetensors --input-mix dub=1 --lr 2e-4 --sync-weight 0.05 \
	  --cosine-lr --temporal steady --ssim-weight 2 --blend-weight 0.2 --eval-every 400 \
	  || exit 1; \
	weights=$(RUNS)/visemes/generator.safetensors; round=0; \
	for r in $(HIRES_ROUNDS); do round=$$((round + 1)); \
	  $(PY) -m lipsync train generator --data $(HIRES_DATA) --out $(RUNS)/hires$$round \
	    --steps $${r%%:*} --init $$weights --sync $(RUNS)/sync.safetensors $(SHARP_ROUND) \
	    --colour-weight $${r##*:} || exit 1; \
	  weights=$(RUNS)/hires$$round/generator.safetensors; \
	done; \
	round=0; \
	for r in $(BEND_ROUNDS); do round=$$((round + 1)); \
	  $(PY) -m lipsync train generator --data $(STYLES_DATA) --out $(RUNS)/bend$$round \
	    --steps $${r%%:*} --init $$weights --sync $(RUNS)/sync.safetensors $(SHARP_ROUND) \
	    --colour-weight 4 --bend $${r##*:} || exit 1; \
	  weights=$(RUNS)/bend$$round/generator.safetensors; \
	done; \
	$(PY) -m lipsync train generator --data $(STYLES_DATA) --out $(RUNS)/scale2 \
	  --steps $(SCALE_STEPS) --init $$weights --sync $(RUNS)/sync.safetensors $(SHARP_ROUND) \
	  --colour-weight 4 --bend 0.5 --scale 2 --lr 2e-4 || exit 1; \
	weights=$(RUNS)/scale2/generator.safetensors; \
	cp $$weights $(RUNS)/generator.safetensors; \
	cp $${weights%.safetensors}.md $(RUNS)/generator.md
	$(PY) -m lipsync train visemes --out $(RUNS) --steps $(VISEME_STEPS) --eval-every 500
	cp $(RUNS)/{sync,parser,generator,visemes}.{safetensors,md} models/

# The detail network (docs/method.md), opt-in: a models folder holding detail.safetensors
# beside the shipped files uses it (`--models build/models_detail`).
detail: data-hires
	$(PY) -m lipsync train detail --data $(HIRES_DATA) --out $(RUNS) --steps $(DETAIL_STEPS) \
	  --eval-every 1000
	mkdir -p build/models_detail
	cp models/*.safetensors $(RUNS)/detail.safetensors build/models_detail/

# The evaluation's independent sync expert (another seed, a cosine learning rate; the
# generator never sees it), on the 240-clip set.
judge: data
	$(PY) -m lipsync train sync --data $(DATA) --out $(RUNS)/judge --steps $(JUDGE_STEPS) \
	  --cosine-lr --seed 1 --eval-every 1000
	cp $(RUNS)/judge/sync.safetensors models/judge.safetensors
	sed 's/sync.safetensors/judge.safetensors/g' $(RUNS)/judge/sync.md > models/judge.md

# Every family's test characters at 512 px frames, where a mouth is 3-4 times the size of
# the networks' crops: the measure of a mouth at the frame's own resolution (Workbench:
# Cycles at 512 px would take hours on 2 cores).
NATIVE := build/data/native512
eval-native: setup
	$(PY) -m lipsync dataset make --out $(NATIVE) --clips 150 --seed 3 --splits test \
	  --families $(FAMILIES) --resolution 512 --engine BLENDER_WORKBENCH --workers 2
	$(PY) -m lipsync eval --data $(NATIVE) --split test --out build/eval_native

# The README's results table: both evaluations above, then the table written from them.
results: eval eval-native
	$(PY) -m lipsync.core.evaluate.table build/eval build/eval_native --readme README.md

clean:
	rm -rf build dist demo/out
