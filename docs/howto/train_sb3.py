"""Train an sb3-contrib RecurrentPPO agent on cogdyn/CtxDM-v0, then write its LSTM policy as a
cogdyn run directory (and the policy's weights as a state dict)."""

import argparse
from pathlib import Path

import torch
from safetensors.torch import save_file
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.env_util import make_vec_env

import cogdyn
import cogdyn.tasks.gym_env  # registers cogdyn/CtxDM-v0
from cogdyn.interop import from_sb3

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--timesteps", type=int, default=1_000_000, help="environment steps")
parser.add_argument("--envs", type=int, default=16, help="environments per rollout")
parser.add_argument("--hidden", type=int, default=64, help="LSTM units")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default="runs/sb3-lstm", help="run directory to write")
parser.add_argument("--verbose", type=int, default=0, help="SB3's progress tables: 1")
args = parser.parse_args()

torch.set_num_threads(1)  # a small LSTM: one thread is fastest
# render_mode=None: CtxDM draws nothing (make_vec_env would ask for rgb_array)
env = make_vec_env(
    "cogdyn/CtxDM-v0", n_envs=args.envs, seed=args.seed, env_kwargs={"render_mode": None}
)
agent = RecurrentPPO(
    "MlpLstmPolicy",
    env,
    n_steps=256,  # 16 envs x 256 steps = 4096 steps (~210 trials) per update
    batch_size=1024,
    n_epochs=4,
    learning_rate=1e-3,
    gamma=1.0,  # a trial is short and rewarded once, at the choice
    ent_coef=0.02,
    # pi=[]: the action logits are one linear layer of the LSTM's h (the value has an MLP)
    policy_kwargs={"lstm_hidden_size": args.hidden, "net_arch": {"pi": [], "vf": [64]}},
    seed=args.seed,
    device="cpu",
    verbose=args.verbose,
)
agent.learn(total_timesteps=args.timesteps)

# The policy's weights as a state dict, for `cogdyn import-torch` (nothing pickled) ...
Path(args.out).parent.mkdir(parents=True, exist_ok=True)
state = {k: v.contiguous() for k, v in agent.policy.state_dict().items()}
save_file(state, f"{args.out}.safetensors")
# ... and the agent itself through the Python API: the LSTM actor and the policy head.
run = cogdyn.load_run(from_sb3(agent, "ctxdm", args.out, overwrite=True))
print(
    f"{args.timesteps} steps: accuracy {run.summary['accuracy']:.3f} on fresh trials -> {run.path}"
)
