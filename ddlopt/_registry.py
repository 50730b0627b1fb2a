"""Keras-style lookup by name, shared by losses.get and optim.get."""


def lookup(identifier, kwargs, base, kind, registry):
    """The object itself if ``identifier`` is a ``base`` instance (then no kwargs allowed),
    else the registry entry for the name; clear errors for anything else."""
    if isinstance(identifier, base):
        if kwargs:
            raise ValueError(f"got a {base.__name__} object {identifier!r} and keyword arguments "
                             f"{kwargs}; pass a name to configure a new one")
        return identifier
    if not isinstance(identifier, str):
        article = "an" if kind[0] in "aeiou" else "a"
        raise TypeError(f"identifier must be the name of {article} {kind} (str) or a {base.__name__} "
                        f"object, got {identifier!r}")
    if identifier not in registry:
        known = ", ".join(sorted(k for k in registry if k.islower()))
        raise ValueError(f"unknown {kind} {identifier!r}; known names: {known}")
    return registry[identifier]
