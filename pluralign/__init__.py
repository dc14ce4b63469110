"""pluralign: pluralism and fidelity scorers for deliberation assistants, as metrics and TRL rewards."""

__version__ = "0.1.0"
