"""A hand-built network whose decision attractors and active units are known, on one thread."""

from __future__ import annotations

import pytest
import torch

from cogdyn.config import ModelConfig
from cogdyn.models import VanillaRNN
from cogdyn.tasks import CtxDM

FIX, M1A, M1B, M2A, M2B, CTX0, CTX1 = range(7)
EXPECTED_GROUPS = ["G+", "G-", "Ga", "Gs", "G+", "G-"]
"""Groups in the decision attractors; in the delay ones unit 3 (the fixation unit) is shared."""
DELAY_GROUPS = ["G+", "G-", "Ga", "Ga", "G+", "G-"]


@pytest.fixture(autouse=True)
def _populations_on_one_thread(one_thread):
    yield


def hand_built_net() -> VanillaRNN:
    """Six units. Units 0 and 1 are a flip-flop (self 0.5, mutual −1; drive 0.5 in the delay, 1 in
    the decision period, stimulus pushes unit 0 up for choice 1): stable points (2d, 0) and (0, 2d)
    for drive d. Unit 2 copies h0 + h1 (active in both: Ga); unit 3 is 3 while the fixation cue
    is on and 0 in the decision period (bias −1, cue weight 4: silent in the decision attractors,
    shared in the delay ones); unit 4 copies h0 (G+), unit 5 copies ½ h1 (G−). Readout: fixate
    1.2 + h3, logit k = h_{k−1}, so the network fixates until the go cue, and the decision
    attractors answer 1 and 2 while the delay attractors hold them."""
    model = VanillaRNN(7, 3, ModelConfig(hidden=6))
    with torch.no_grad():
        w = torch.zeros(6, 6)
        w[:2, :2] = torch.tensor([[0.5, -1.0], [-1.0, 0.5]])
        w[2, 0] = w[2, 1] = 1.0
        w[4, 0] = 1.0
        w[5, 1] = 0.5
        model.weight_hh_l0.copy_(w)
        w_in = torch.zeros(6, 7)
        w_in[:2, FIX] = -0.5
        w_in[3, FIX] = 4.0
        w_in[:2, CTX0] = w_in[:2, CTX1] = 1.0
        for a, b in ((M1A, M1B), (M2A, M2B)):
            w_in[0, a], w_in[0, b], w_in[1, a], w_in[1, b] = 1.0, -1.0, -1.0, 1.0
        model.weight_ih_l0.copy_(w_in)
        model.bias_ih_l0.zero_()
        model.bias_hh_l0.copy_(torch.tensor([0.0, 0.0, 0.0, -1.0, 0.0, 0.0]))
        readout = torch.zeros(3, 6)
        readout[1, 0] = readout[2, 1] = readout[0, 3] = 1.0
        model.readout.weight.copy_(readout)
        model.readout.bias.copy_(torch.tensor([1.2, 0.0, 0.0]))
    return model.eval()


@pytest.fixture(scope="module")
def task() -> CtxDM:
    return CtxDM()


@pytest.fixture(scope="module")
def net() -> VanillaRNN:
    return hand_built_net()
