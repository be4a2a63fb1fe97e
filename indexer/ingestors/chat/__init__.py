"""Chat exports (WhatsApp, Teams, SMS, Telegram, Slack, Signal, Messenger) and chat screenshots."""

from importlib import import_module

# Each module registers its ingestor when imported; a module not written yet is simply absent.
for _name in ("whatsapp", "teams", "sms", "telegram", "slack", "signal", "messenger", "screenshot"):
    try:
        import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _error:
        if _error.name != f"{__name__}.{_name}":
            raise
