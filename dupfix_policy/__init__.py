"""dupfix-policy: stop duplicate UPNs and proxy addresses before they reach Microsoft Entra ID."""

__version__ = "0.1.0"
