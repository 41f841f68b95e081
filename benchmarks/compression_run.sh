#!/usr/bin/env bash
# The measurements of docs/compression.md for any 9x9 policy + value checkpoint, from the checkout root:
#   benchmarks/compression_run.sh CKPT DATA OUT [GAMES] [TIME] [KD_DATA]
# DATA: a dataset folder (its train split calibrates and fine-tunes, its validation split is held out);
# OUT: folder for the variants, bench.json and the tournament folders; GAMES per match (default 40);
# TIME: the zero agents' time= per move (default 1, i.e. 0.8 s of search after the 0.2 s margin);
# KD_DATA: what the pruned net is distilled on (default DATA; a zero run's replay buffer has far more positions).
# Every step is skipped when its output exists, so a rerun continues. Runs at nice 10, one thread.
set -euo pipefail
CKPT=$1; DATA=$2; OUT=$3; GAMES=${4:-40}; TIME=${5:-1}; KD_DATA=${6:-$2}
mkdir -p "$OUT"
run() { nice -n 10 python -m cli "$@"; }
make() { [ -e "$1" ] || { shift; run "$@"; }; }

make "$OUT/int8.pt" compress quantize "$CKPT" --out "$OUT/int8.pt" --calibration "$DATA" --positions 1024
make "$OUT/c50-raw.pt" compress prune "$CKPT" --amount 0.5 --out "$OUT/c50-raw.pt"
make "$OUT/c50.pt" compress prune "$CKPT" --amount 0.5 --out "$OUT/c50.pt" --data "$DATA" \
    --finetune-steps 300 --batch-size 64 --lr 3e-4
make "$OUT/c50-kd3000.pt" compress distill --teacher "$CKPT" --student "$OUT/c50-raw.pt" --data "$KD_DATA" \
    --out "$OUT/c50-kd3000.pt" --steps 3000 --batch-size 128 --lr 5e-4 --alpha 0.9 --temperature 2 --seed 2
make "$OUT/c50s25-raw.pt" compress prune "$CKPT" --amount 0.5 --stream 0.25 --out "$OUT/c50s25-raw.pt"
make "$OUT/c50s25-kd3000.pt" compress distill --teacher "$CKPT" --student "$OUT/c50s25-raw.pt" --data "$KD_DATA" \
    --out "$OUT/c50s25-kd3000.pt" --steps 3000 --batch-size 128 --lr 5e-4 --alpha 0.9 --temperature 2 --seed 2
make "$OUT/m50.pt" compress prune "$CKPT" --method magnitude --amount 0.5 --out "$OUT/m50.pt" --data "$DATA" \
    --finetune-steps 100 --batch-size 64 --lr 3e-4
for alpha in 0.7 0; do
  make "$OUT/student-a$alpha.pt" compress distill --teacher "$CKPT" --student resnet-b4c32 --data "$DATA" \
      --out "$OUT/student-a$alpha.pt" --steps 1500 --batch-size 64 --lr 2e-3 --alpha $alpha --temperature 2 --seed 1
done

[ -e "$OUT/bench.json" ] || nice -n 10 python -m benchmarks.compression --original "$CKPT" --data "$DATA" \
    --variant int8="$OUT/int8.pt" --variant c50="$OUT/c50.pt" --variant c50-raw="$OUT/c50-raw.pt" \
    --variant c50-kd3000="$OUT/c50-kd3000.pt" --variant c50s25-kd3000="$OUT/c50s25-kd3000.pt" --variant m50="$OUT/m50.pt" \
    --variant student-kd="$OUT/student-a0.7.pt" --variant student-hard="$OUT/student-a0.pt" --json "$OUT/bench.json"

match() {  # NAME SEED SPEC_A SPEC_B: a gauntlet of GAMES games, colours alternating, one thread
  nice -n 10 python -c 'import sys, torch; torch.set_num_threads(1); from cli import main; sys.exit(main(sys.argv[1:]))' \
      tournament --agents "$3,time=$TIME,temperature_moves=4" "$4,time=$TIME,temperature_moves=4" --mode gauntlet \
      --games-per-pair "$GAMES" --seed "$2" --out "$OUT/t-$1"
}
match int8 1701 "zero:ckpt=$OUT/int8.pt" "zero:ckpt=$CKPT,backend=torch"
match c50 1702 "zero:ckpt=$OUT/c50-kd3000.pt" "zero:ckpt=$CKPT"
match c50s25 1704 "zero:ckpt=$OUT/c50s25-kd3000.pt" "zero:ckpt=$CKPT"
match kd 1703 "zero:ckpt=$OUT/student-a0.7.pt" "zero:ckpt=$OUT/student-a0.pt"
python -m benchmarks.compression --matches "$OUT/t-int8" "$OUT/t-c50" "$OUT/t-c50s25" "$OUT/t-kd"
