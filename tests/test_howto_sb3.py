"""The SB3 how-to (docs/howto/sb3.md) runs as written: its script and every command of its bash
blocks, in order, with only the budget made tiny (the substitutions below, each of which must
occur, so the page and the test cannot drift apart). Also: the imported policy is the agent's."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cogdyn import io

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "howto" / "sb3.md"
SCRIPT = ROOT / "docs" / "howto" / "train_sb3.py"
TINY = {
    "--timesteps 1000000": "--timesteps 4096",  # one rollout: 16 envs × 256 steps
    "--grid 11": "--grid 3",
}
"""The only changes made to the page's commands: the training and census budgets."""

pytest.importorskip("sb3_contrib")


def _blocks(text: str, lang: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced block of ``lang``."""
    return [
        (m.group(1).strip(), m.group(2))
        for m in re.finditer(rf"```{lang}([^\n]*)\n(.*?)```", text, flags=re.S)
    ]


def _commands(text: str) -> list[str]:
    lines = []
    for _, body in _blocks(text, "bash"):
        for line in body.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith(("#", "pip install")):
                lines.append(line)
    return lines


def test_the_page_shows_the_script_and_its_commands():
    text = PAGE.read_text()
    # the page shows the script that its commands run, exactly
    assert any(body == SCRIPT.read_text() for _, body in _blocks(text, "python"))
    commands = _commands(text)
    assert commands[0].startswith("python docs/howto/train_sb3.py")
    assert any(c.startswith("cogdyn analyze runs/sb3-lstm") for c in commands)
    assert any(c.startswith("cogdyn import-torch") for c in commands)
    for old in TINY:
        assert any(old in c for c in commands), f"{old!r} is no longer on the page"


@pytest.mark.slow
def test_howto_commands_run_as_written(tmp_path):
    """Every command, in a fresh folder that sees the repository's docs/; ``cogdyn`` and
    ``python`` are this interpreter's."""
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    outputs = []
    for command in _commands(PAGE.read_text()):
        for old, new in TINY.items():
            command = command.replace(old, new)
        argv = shlex.split(command)
        if argv[0] == "cogdyn":
            argv = [sys.executable, "-m", "cogdyn.cli", *argv[1:]]
        elif argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        done = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    run = tmp_path / "runs" / "sb3-lstm"
    _, model = io.load_run(run)
    assert model.arch == "lstm" and model.hidden == 2 * model.n_units
    assert (run / io.ANALYSIS_DIR / "attractors.parquet").is_file()
    assert (run / io.FIGURES_DIR / "attractor_map.png").is_file()
    # the CLI import of the saved state dict is the same network as the Python import
    _, twin = io.load_run(tmp_path / "runs" / "sb3-lstm-cli")
    for name, value in model.state_dict().items():
        assert torch.equal(value, twin.state_dict()[name]), name
    assert any("imported lstm" in out for out in outputs)


def test_imported_policy_gives_the_agents_action_logits(tmp_path, one_thread):
    """from_sb3 on a tiny RecurrentPPO agent (its default tanh MLP head): the imported network's
    log-probabilities are the policy's at every step of real trials (h, c reset at the start)."""
    import gymnasium as gym
    from sb3_contrib import RecurrentPPO

    import cogdyn.tasks.gym_env  # noqa: F401
    from cogdyn.interop import from_sb3
    from cogdyn.tasks import CtxDM

    env = gym.make("cogdyn/CtxDM-v0")
    agent = RecurrentPPO(
        "MlpLstmPolicy",
        env,
        n_steps=64,
        batch_size=64,
        n_epochs=1,
        seed=0,
        device="cpu",
        policy_kwargs={"lstm_hidden_size": 16, "net_arch": {"pi": [16], "vf": [16]}},
    )
    agent.learn(64)
    _, model = io.load_run(from_sb3(agent, "ctxdm", tmp_path / "sb3"))
    assert model.readout.spec() == ["linear", "tanh", "linear"]
    summary = io.read_json(tmp_path / "sb3" / io.SUMMARY_FILE)
    assert summary["algo"] == "ppo" and summary["source"]["from"] == "sb3_contrib.RecurrentPPO"
    batch = CtxDM().sample(4, torch.Generator().manual_seed(0))
    policy = agent.policy
    with torch.no_grad():
        _, logits = model(batch.inputs)
        state = (torch.zeros(1, 4, 16), torch.zeros(1, 4, 16))
        starts, ref = torch.ones(4), []
        for t in range(batch.n_steps):
            dist, state = policy.get_distribution(batch.inputs[t], state, starts)
            starts = torch.zeros(4)
            ref.append(dist.distribution.logits)
    torch.testing.assert_close(torch.log_softmax(logits, -1), torch.stack(ref), atol=1e-5, rtol=0)


def test_from_sb3_refuses_what_it_cannot_import(tmp_path):
    from cogdyn.interop import from_sb3

    with pytest.raises(ValueError, match="RecurrentPPO agent or its policy"):
        from_sb3(torch.nn.Linear(2, 2), "ctxdm", tmp_path / "x")
