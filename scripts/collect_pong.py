#!/usr/bin/env python3
"""Collects Atari Pong episodes for the diffusion world model (docs/ML.md) into one HDF5 file.

Run by scripts/fetch_atari.sh inside a virtual environment that holds the ale-py wheel (the ROMs
ship inside it; it runs offline) over Debian's numpy and h5py. naqs never links ALE: it reads the
file this script writes.

Frames: ALE's grayscale screen (210 x 160), the play area between the walls (rows 34..193, all
160 columns) averaged over 4 x 4 blocks to 40 x 40, rounded to u8. Both paddles (4 x 16 pixels,
on block-aligned columns) and the ball (2 x 4 pixels, at least a quarter of a block) survive the
averaging: `ObjectCheck` counts, over the whole data set, the frames where an object on the full
screen leaves no trace in the 40 x 40 image (no block within one block of it differs from the
background by VISIBLE gray levels, the weight of a single ball pixel in a 4 x 4 block), and the
script fails if any object is lost in more than 1% of them. A ball split over four blocks still
shows 19 levels above the background.

Environment: frameskip 4 (the action repeats for 4 emulator frames, rewards summed, the last
frame observed), sticky actions with probability 0.25 (ALE's repeat_action_probability), the
game's minimal action set (6 actions; ids 0..5 are indices into it, stored in /action_names).

Policy (scripted, so that rallies happen): find the ball and the right-hand (agent's) paddle on
the screen, move the paddle towards the ball's row (RIGHT = up, LEFT = down, NOOP within 4
rows; towards the centre while no ball is visible); with probability epsilon a uniformly random
action instead. Every episode is a fresh ALE instance seeded seed + episode; the policy's random
stream is numpy's default_rng(seed + episode).

Layout (chunked one episode per chunk, deflate level 4):
  /frames     u8  (E, T+1, 40, 40)   observation before step t and after the last step
  /actions    i32 (E, T)             index into /action_names
  /rewards    f32 (E, T)             summed over the 4 skipped frames (+1 agent scores, -1 opponent)
  /terminals  u8  (E, T)             1 where the game ended (then the game restarts)
  /train_episodes, /test_episodes i32  the split by episode (the last --test episodes are test)
  /action_names  strings
  root attributes: game, rom_sha256, ale_py_version, policy, epsilon, seed, frameskip,
  repeat_action_probability, crop, episodes, steps, created_by.

Usage: collect_pong.py --out data/atari/pong.h5 [--episodes 120] [--test 20] [--steps 500]
                       [--epsilon 0.1] [--seed 1]
Writes OUT.partial and renames it when complete; refuses an existing OUT.
"""
import argparse
import hashlib
import os
import sys

import h5py
import numpy as np

ROM_SHA256 = "41623e3c26148f96cbe77d56512845d224a63c8fe5bf90e38527155e39ec96d3"
PLAY_ROWS = (34, 194)  # rows 34..193: between the top and bottom walls
BACKGROUND = 87        # grayscale of the play field
PADDLE_COLS = (140, 144)  # the agent's (right) paddle
ENEMY_COLS = (16, 20)
BALL_LEVEL = 236       # the ball (and the walls, outside the play rows)
PADDLE_LEVELS = (147, 148)
VISIBLE = 9            # gray levels: one ball pixel (236 - 87) / 16


def fail(msg):
    print(f"collect_pong: error: {msg}", file=sys.stderr)
    sys.exit(2)


def downsample(screen):
    play = screen[PLAY_ROWS[0]:PLAY_ROWS[1], :].astype(np.float64)
    blocks = play.reshape(40, 4, 40, 4).mean(axis=(1, 3))
    return np.rint(blocks).astype(np.uint8)


def find_ball(screen):
    play = screen[PLAY_ROWS[0]:PLAY_ROWS[1], :]
    rows, cols = np.nonzero(play == BALL_LEVEL)
    if rows.size == 0:
        return None
    return rows.mean() + PLAY_ROWS[0], cols.mean()


def paddle_row(screen, cols):
    band = screen[PLAY_ROWS[0]:PLAY_ROWS[1], cols[0]:cols[1]]
    rows = np.nonzero(np.isin(band, PADDLE_LEVELS).any(axis=1))[0]
    if rows.size == 0:
        return None
    return rows.mean() + PLAY_ROWS[0]


class ObjectCheck:
    """Counts frames where an object is on the full screen but not visible after downsampling."""

    def __init__(self):
        self.seen = {"ball": 0, "paddle": 0, "enemy": 0}
        self.lost = {"ball": 0, "paddle": 0, "enemy": 0}

    def add(self, screen, small):
        bg = float(BACKGROUND)
        ball = find_ball(screen)
        if ball is not None:
            self.seen["ball"] += 1
            r, c = int((ball[0] - PLAY_ROWS[0]) // 4), int(ball[1] // 4)
            patch = small[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].astype(np.float64)
            if np.abs(patch - bg).max() < VISIBLE:
                self.lost["ball"] += 1
        for name, cols in (("paddle", PADDLE_COLS), ("enemy", ENEMY_COLS)):
            row = paddle_row(screen, cols)
            if row is None:
                continue
            self.seen[name] += 1
            r, c = int((row - PLAY_ROWS[0]) // 4), cols[0] // 4
            if abs(float(small[min(r, 39), c]) - bg) < VISIBLE:
                self.lost[name] += 1

    def verify(self):
        for name in self.seen:
            if self.seen[name] == 0:
                fail(f"the {name} never appeared on the screen: is this Pong?")
            frac = self.lost[name] / self.seen[name]
            if frac > 0.01:
                fail(f"the {name} is lost by the 40x40 averaging in {frac:.1%} of the frames")
        return {k: (self.seen[k], self.lost[k]) for k in self.seen}


def policy_action(screen, rng, epsilon, n_actions):
    # minimal action set of Pong: 0 NOOP, 1 FIRE, 2 RIGHT (up), 3 LEFT (down), 4, 5 with FIRE
    if rng.random() < epsilon:
        return int(rng.integers(n_actions))
    paddle = paddle_row(screen, PADDLE_COLS)
    ball = find_ball(screen)
    target = ball[0] if ball is not None else (PLAY_ROWS[0] + PLAY_ROWS[1]) / 2
    if paddle is None or abs(target - paddle) <= 4:
        return 0
    return 2 if target < paddle else 3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--episodes", type=int, default=120)
    ap.add_argument("--test", type=int, default=20)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--epsilon", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.episodes < 2:
        fail(f"--episodes {a.episodes} is too small: use at least 2 (train and test)")
    if not 1 <= a.test < a.episodes:
        fail(f"--test {a.test} is not allowed: use 1 .. episodes-1 ({a.episodes - 1})")
    if a.steps < 1:
        fail(f"--steps {a.steps} is not allowed: use at least 1")
    if not 0 <= a.epsilon <= 1:
        fail(f"--epsilon {a.epsilon} is not allowed: use a value in [0, 1]")
    if os.path.exists(a.out):
        fail(f"{a.out} exists; remove it or choose another --out (it is never overwritten)")

    import ale_py
    from ale_py import ALEInterface, LoggerMode, roms

    ALEInterface.setLoggerMode(LoggerMode.Error)
    rom = roms.get_rom_path("pong")
    with open(rom, "rb") as f:
        rom_sha = hashlib.sha256(f.read()).hexdigest()
    if rom_sha != ROM_SHA256:
        fail(f"the Pong ROM in ale-py {ale_py.__version__} has sha256 {rom_sha}, "
             f"expected {ROM_SHA256}")

    partial = a.out + ".partial"
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    try:
        objects, points = collect(a, rom, rom_sha, ale_py.__version__, partial)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    os.replace(partial, a.out)
    seen = ", ".join(f"{k} lost in {lost} of {n} frames" for k, (n, lost) in objects.items())
    print(f"collect_pong: {a.episodes} episodes x {a.steps} steps ({a.episodes - a.test} train, "
          f"{a.test} test) in {a.out}; points: agent {points[0]}, opponent {points[1]}; {seen}")


def collect(a, rom, rom_sha, ale_version, partial):
    from ale_py import ALEInterface

    E, T = a.episodes, a.steps
    check = ObjectCheck()
    with h5py.File(partial, "w") as h:
        opts = dict(compression="gzip", compression_opts=4)
        frames = h.create_dataset("frames", (E, T + 1, 40, 40), np.uint8,
                                  chunks=(1, T + 1, 40, 40), **opts)
        actions = h.create_dataset("actions", (E, T), np.int32, chunks=(1, T), **opts)
        rewards = h.create_dataset("rewards", (E, T), np.float32, chunks=(1, T), **opts)
        terminals = h.create_dataset("terminals", (E, T), np.uint8, chunks=(1, T), **opts)
        names = None
        total_reward = np.zeros(2)
        for e in range(E):
            ale = ALEInterface()
            ale.setInt("random_seed", a.seed + e)
            ale.setFloat("repeat_action_probability", 0.25)
            ale.setInt("frame_skip", 1)
            ale.loadROM(rom)
            moves = ale.getMinimalActionSet()
            if names is None:
                names = [str(m).split(".")[-1] for m in moves]
            rng = np.random.default_rng(a.seed + e)
            ep_frames = np.empty((T + 1, 40, 40), np.uint8)
            ep_actions = np.empty(T, np.int32)
            ep_rewards = np.zeros(T, np.float32)
            ep_terminals = np.zeros(T, np.uint8)
            screen = ale.getScreenGrayscale()
            ep_frames[0] = downsample(screen)
            for t in range(T):
                act = policy_action(screen, rng, a.epsilon, len(moves))
                ep_actions[t] = act
                for _ in range(4):
                    ep_rewards[t] += ale.act(moves[act])
                    if ale.game_over():
                        break
                if ale.game_over():
                    ep_terminals[t] = 1
                    ale.reset_game()
                screen = ale.getScreenGrayscale()
                ep_frames[t + 1] = downsample(screen)
                check.add(screen, ep_frames[t + 1])
            frames[e] = ep_frames
            actions[e] = ep_actions
            rewards[e] = ep_rewards
            terminals[e] = ep_terminals
            total_reward += [(ep_rewards > 0).sum(), (ep_rewards < 0).sum()]
            if (e + 1) % 20 == 0 or e + 1 == E:
                print(f"collect_pong: episode {e + 1}/{E}", file=sys.stderr, flush=True)
        objects = check.verify()
        h.create_dataset("train_episodes", data=np.arange(0, E - a.test, dtype=np.int32))
        h.create_dataset("test_episodes", data=np.arange(E - a.test, E, dtype=np.int32))
        h.create_dataset("action_names", data=np.array(names, dtype=h5py.string_dtype()))
        h.attrs.update({
            "game": "pong", "rom_sha256": rom_sha, "ale_py_version": ale_version,
            "policy": "track the ball with the right paddle (move while |ball row - paddle row| "
                      "> 4 screen rows), epsilon-random", "epsilon": a.epsilon, "seed": a.seed,
            "frameskip": 4, "repeat_action_probability": 0.25,
            "crop": "grayscale rows 34..193, columns 0..159, 4x4 block mean, rounded to u8",
            "episodes": E, "steps": T, "created_by": "scripts/collect_pong.py",
        })
    return objects, (int(total_reward[0]), int(total_reward[1]))


if __name__ == "__main__":
    main()
