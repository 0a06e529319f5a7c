"""zcomp: contain, clean and hand back phished Zimbra accounts."""

__version__ = "0.1.0"
