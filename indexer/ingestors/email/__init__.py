"""Email formats (EML, emlx, MBOX, Maildir, MSG, PST/OST, TNEF): each message becomes an `email` item with its attachments as children."""

from indexer.ingestors.email import eml, mbox, msg, pst, tnef  # noqa: F401  (each module registers its ingestor on import)
