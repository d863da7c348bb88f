"""Network models: the vanilla ReLU RNN and its safetensors format."""

from cogdyn.models.rnn import VanillaRNN

__all__ = ["VanillaRNN"]
