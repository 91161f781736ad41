#!/usr/bin/env bash
# Reproduces the figures in docs/results.md. Each run's full output goes to runs/results/NAME.log;
# the last line of each log is 'final test accuracy: X'.
#   scripts/reproduce-results.sh            all runs (about an hour on a 2-core machine)
#   scripts/reproduce-results.sh NAME...    only these runs
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/results
mkdir -p "$out"

# The paper's image-classification protocol: random frozen base, 10 epochs, batch 256, SGD with
# Nesterov momentum 0.9, lr 3e-2, weight decay 5e-4, cosine schedule, gradient-norm clip 1,
# adapters on every linear layer, low-rank r = 8 (these are the train command's defaults).
declare -A runs=(
  [fmnist-linear-full]="--dataset fashion-mnist --model linear --trainer FULL"
  [fmnist-linear-peft-lowrank]="--dataset fashion-mnist --model linear --trainer PEFT_SERVER --adapter LOW_RANK"
  [fmnist-linear-cola-lowrank]="--dataset fashion-mnist --model linear --trainer COLA_LOCAL --adapter LOW_RANK"
  [fmnist-linear-peft-linear]="--dataset fashion-mnist --model linear --trainer PEFT_SERVER --adapter LINEAR"
  [fmnist-linear-cola-linear]="--dataset fashion-mnist --model linear --trainer COLA_LOCAL --adapter LINEAR"
  [fmnist-linear-cola-mlp]="--dataset fashion-mnist --model linear --trainer COLA_LOCAL --adapter MLP"
  [fmnist-mlp-full]="--dataset fashion-mnist --model mlp --trainer FULL"
  [fmnist-mlp-peft-lowrank]="--dataset fashion-mnist --model mlp --trainer PEFT_SERVER --adapter LOW_RANK"
  [fmnist-mlp-cola-lowrank]="--dataset fashion-mnist --model mlp --trainer COLA_LOCAL --adapter LOW_RANK"
  [fmnist-mlp-peft-linear]="--dataset fashion-mnist --model mlp --trainer PEFT_SERVER --adapter LINEAR"
  [fmnist-mlp-cola-linear]="--dataset fashion-mnist --model mlp --trainer COLA_LOCAL --adapter LINEAR"
  [fmnist-mlp-cola-linear-merged]="--dataset fashion-mnist --model mlp --trainer COLA_LOCAL --adapter LINEAR --merge"
  [fmnist-mlp-cola-mlp]="--dataset fashion-mnist --model mlp --trainer COLA_LOCAL --adapter MLP"
  [fmnist-mlp-cola-lowrank-i8]="--dataset fashion-mnist --model mlp --trainer COLA_LOCAL --adapter LOW_RANK --interval 8"
  [fmnist-mlp-cola-linear-col8]="--dataset fashion-mnist --model mlp --trainer COLA_LOCAL --adapter LINEAR --merge --users 8 --mode COL --partition dirichlet:0.3"
  [fmnist-mlp-cola-linear-alone8]="--dataset fashion-mnist --model mlp --trainer COLA_LOCAL --adapter LINEAR --merge --users 8 --mode ALONE --partition dirichlet:0.3"
  [mnist-linear-full]="--dataset mnist --model linear --trainer FULL"
  [mnist-linear-cola-mlp]="--dataset mnist --model linear --trainer COLA_LOCAL --adapter MLP"
  [mnist-mlp-full]="--dataset mnist --model mlp --trainer FULL"
  [mnist-mlp-cola-linear]="--dataset mnist --model mlp --trainer COLA_LOCAL --adapter LINEAR"
  [mnist-mlp-cola-lowrank]="--dataset mnist --model mlp --trainer COLA_LOCAL --adapter LOW_RANK"
  # CNN base (64-128-256-512): 7.5 s per batch of 256 on 2 cores (about 4 GFLOP/s in libnd4j's conv ops),
  # so 10 epochs of Fashion-MNIST would take 5 hours a run. Not part of the default set; run by name.
  [mnist-cnn-full]="--dataset mnist --model cnn --trainer FULL --epochs 5"
  [mnist-cnn-peft-lowrank]="--dataset mnist --model cnn --trainer PEFT_SERVER --adapter LOW_RANK --epochs 5"
  [mnist-cnn-cola-lowrank]="--dataset mnist --model cnn --trainer COLA_LOCAL --adapter LOW_RANK --epochs 5"
  [mnist-cnn-cola-linear]="--dataset mnist --model cnn --trainer COLA_LOCAL --adapter LINEAR --epochs 5"
)
order=(fmnist-linear-full fmnist-linear-peft-lowrank fmnist-linear-cola-lowrank fmnist-linear-peft-linear fmnist-linear-cola-linear
       fmnist-linear-cola-mlp fmnist-mlp-full fmnist-mlp-peft-lowrank fmnist-mlp-cola-lowrank fmnist-mlp-peft-linear
       fmnist-mlp-cola-linear fmnist-mlp-cola-linear-merged fmnist-mlp-cola-mlp fmnist-mlp-cola-lowrank-i8
       fmnist-mlp-cola-linear-col8 fmnist-mlp-cola-linear-alone8
       mnist-linear-full mnist-linear-cola-mlp mnist-mlp-full mnist-mlp-cola-linear mnist-mlp-cola-lowrank
       transfer)
[ $# -gt 0 ] && order=("$@")

for name in "${order[@]}"; do
  if [ "$name" = transfer ]; then
    # Transfer: pretrain the MLP base (all weights) on Fashion-MNIST classes 0-4, then fine-tune it with ColA on the
    # held-out classes 5-9 (relabelled 0-4). The frozen pretrained base's accuracy on 5-9 is the
    # 'epoch 0 / before training' line of transfer-cola.log; transfer-random-base.log is ColA on a random base.
    ./colaedge pretrain --model mlp --dataset fashion-mnist --classes 0-4 --epochs 5 --out runs/pretrained/mlp-fmnist-0-4.cebm -q \
      > "$out/transfer-pretrain.log" 2>&1
    ./colaedge train --base-file runs/pretrained/mlp-fmnist-0-4.cebm --dataset fashion-mnist --classes 5-9 --trainer COLA_LOCAL \
      --adapter LOW_RANK --epochs 5 -q > "$out/transfer-cola.log" 2>&1
    ./colaedge train --model mlp --dataset fashion-mnist --classes 5-9 --trainer COLA_LOCAL \
      --adapter LOW_RANK --epochs 5 -q > "$out/transfer-random-base.log" 2>&1
    continue
  fi
  echo "== $name: ./colaedge train ${runs[$name]}" >&2
  ./colaedge train ${runs[$name]} -q > "$out/$name.log" 2>&1 || echo "$name failed (see $out/$name.log)" >&2
  tail -1 "$out/$name.log" >&2
done
