"""Intake: what enters MailGuard from an upload, read completely or refused with a reason.

``lists`` reads recipient lists (CSV in the encodings Excel writes, XLSX);
``attachments`` sniffs, judges and extracts the text of attached files;
``workbooks`` reads the cells of an .xlsx for both, and ``confined`` runs such
readers in a child process with a memory and CPU ceiling. All are pure
functions of the uploaded bytes: no database, no side effects.
"""
