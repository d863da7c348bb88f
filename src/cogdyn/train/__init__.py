"""Training (supervised, PPO) and evaluation of the RNN on a task.

The package is callable: ``cogdyn.train(config, out, ...)`` is :func:`cogdyn.api.train` (train
one network, get its :class:`~cogdyn.api.Run`), while ``cogdyn.train.run.train``, ``.ppo`` and
``.supervised`` stay the training library. The package and the API function share the name
because ``import cogdyn.train.<anything>`` makes ``cogdyn.train`` this package.
"""

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    """This package's module type: calling it calls the API's ``train``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from cogdyn.api import train  # the façade, imported only when called (test_layers)

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
