#!/usr/bin/env bash
# Every GPU figure of issue #14 in one device run (none was lent when this was written, so the
# docs say "not measured" until this runs). From the project root, after ../shared/tools/gpu-pack:
#   run(carry=[".gpu"], command="source .gpu/setup.sh && bash bench/gpu_measure.sh", timeout_s=600)
# Results land in $OUT (or bench/results/gpu/) as JSON; the order puts the cheapest first.
set -euo pipefail
out=${OUT:-bench/results/gpu}; mkdir -p "$out"; m=/tmp/models
nvidia-smi --query-gpu=name,memory.total --format=csv > "$out/gpu.txt" || true
# 1. The sentiment model the attribution figures use (SST-2 recipe: ~12 s on an H100).
textlens train classification --out $m/sentiment-minilm --device cuda 2>&1 | tail -1
# 2. Attribution: textlens vs transformers-interpret vs Captum LIG, same GPU, one run each set,
#    with the bare forward+backward ceiling (target >= 20x transformers-interpret, <= 1% each).
python3 bench/attribution.py --model $m/sentiment-minilm --device cuda --n 872 --rounds 2 \
  --out "$out/attribution_cuda.json" | tail -3
python3 bench/attribution.py --model $m/sentiment-minilm --device cuda --sentences short \
  --n 246 --rounds 2 --out "$out/attribution_short_cuda.json" | tail -3
# 2b. Every attribution method side by side (issue #20): lrp, shap, lime, occlusion... next to IG,
#     on 200 SST-2 + 200 UNGDC sentences (targets: lrp >= 10x IG's sentences/s, AOPC comp >= IG's).
python3 bench/methods.py --model $m/sentiment-minilm --device cuda --n 200 | tail -24
cp bench/results/methods.json "$out/methods_cuda.json"
# 3. Training loop vs a bare Hugging Face loop (target ratio <= 1.15), fp32 and bf16.
for p in fp32 bf16; do
  python3 bench/training.py --task classification --compare-bare --steps 100 --rounds 2 \
    --device cuda --precision $p | tail -3
done
cp bench/results/training.json "$out/training.json"
# 4. QA: the GPU recipe (training/qa.py GPU_QA_RECIPE; target F1 >= 75 on the held-out articles).
/usr/bin/time -f "%e s" textlens train qa --out $m/squad-gpu --device cuda 2>&1 | tail -2
textlens evaluate --task qa --model $m/squad-gpu --data squad --split validation \
  --json "$out/qa_gpu_recipe.json" --device cuda | tail -2
