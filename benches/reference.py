#!/usr/bin/env python3
"""The BENCHMARKS.md workloads in PyTorch, on the CPU: the reference that
latent-engine's losses are compared with.

    python3 benches/reference.py --model conv --epochs 10 --seed 0

Reads the shipped split from assets/mnist10k and prints, after each epoch,
the mean training loss and the test loss (-ELBO per image, nats, one eps
draw), in the same CSV columns as `latent train` writes to metrics.csv.
Needs torch and numpy (pip install torch numpy).
"""
import argparse
import gzip
import struct
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(Path(data_dir) / f"{prefix}-images-idx3-ubyte.gz")
    return torch.from_numpy(images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)


class Mlp(nn.Module):
    def __init__(self, latent=20, hidden=400):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x):
        h = F.relu(self.fc1(x.reshape(-1, 784)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z))).reshape(-1, 1, 28, 28)


class Conv(nn.Module):
    def __init__(self, latent=16, hidden=256):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 4, 2, 1)
        self.conv2 = nn.Conv2d(32, 64, 4, 2, 1)
        self.fc1 = nn.Linear(3136, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, 3136)
        self.deconv1 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.deconv2 = nn.ConvTranspose2d(32, 1, 4, 2, 1)

    def encode(self, x):
        h = F.relu(self.conv2(F.relu(self.conv1(x))))
        h = F.relu(self.fc1(h.flatten(1)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        h = F.relu(self.fc4(F.relu(self.fc3(z)))).reshape(-1, 64, 7, 7)
        return self.deconv2(F.relu(self.deconv1(h)))


def latent_init(model, seed, fan_ins):
    """Overwrite the parameters with the values `latent train --seed SEED`
    starts from (SplitMix64 draws, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), in
    checkpoint order), so that both start from the same point."""
    mask = (1 << 64) - 1
    state = (seed ^ 0x5DEECE66D1CE4E5B) & mask
    with torch.no_grad():
        for (name, p), fan_in in zip(model.named_parameters(), fan_ins):
            n = p.numel()
            steps = (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
            z = steps + np.uint64(state)
            state = (state + n * 0x9E3779B97F4A7C15) & mask
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            u = (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)
            bound = 1.0 / np.sqrt(fan_in)
            p.copy_(torch.from_numpy((-bound + 2 * bound * u).astype(np.float32)).reshape(p.shape))


def fan_ins(model):
    """fan_in of each parameter, as BENCHMARKS.md defines it (a bias uses its weight's)."""
    out = []
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            shape = list(p.shape)
            if name.startswith("deconv"):
                fan = shape[1] * shape[2] * shape[3]
            else:
                fan = int(np.prod(shape[1:]))
        out.append(fan)
    return out


def loss_sum(model, x):
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    logits = model.decode(z)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kl


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["mlp", "conv"], default="conv")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=str(Path(__file__).resolve().parent.parent / "assets/mnist10k"))
    p.add_argument("--latent-init", type=int, metavar="SEED",
                   help="start from the parameters `latent train --seed SEED` starts from")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    np.seterr(over="ignore")
    train, test = load(args.data, "train"), load(args.data, "test")
    model = Mlp() if args.model == "mlp" else Conv()
    if args.latent_init is not None:
        latent_init(model, args.latent_init, fan_ins(model))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    print("epoch,train_loss,test_loss,images_per_s,seconds")
    for epoch in range(1, args.epochs + 1):
        start = time.time()
        total = 0.0
        for idx in torch.randperm(len(train)).split(128):
            loss = loss_sum(model, train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        seconds = time.time() - start
        with torch.no_grad():
            test_loss = sum(loss_sum(model, b).item() for b in test.split(1000)) / len(test)
        print(f"{epoch},{total / len(train):.6f},{test_loss:.6f},{len(train) / seconds:.1f},{seconds:.3f}", flush=True)


if __name__ == "__main__":
    main()
