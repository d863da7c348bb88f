"""Training (supervised, PPO) and evaluation of the RNN on a task."""
