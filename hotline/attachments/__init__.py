"""Attachments of unit replies (photos, documents): checked by content, stored outside the web
root under ``settings.attachments_dir``, served only to the roles that may see the ticket."""
