"""Network models: the vanilla ReLU RNN and its safetensors format, and recurrent networks
imported from torch (``nn.RNN`` tanh/ReLU, ``nn.GRU``, ``nn.LSTM``) in the same shape."""

from cogdyn.models.recurrent import RecurrentNet, model_from_state
from cogdyn.models.rnn import VanillaRNN

__all__ = ["RecurrentNet", "VanillaRNN", "model_from_state"]
