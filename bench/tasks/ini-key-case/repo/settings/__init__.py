"""Read INI-style configuration files into typed settings."""

from settings.config import Config, ConfigError

__all__ = ["Config", "ConfigError"]
