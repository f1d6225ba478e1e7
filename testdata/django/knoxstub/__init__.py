"""A stand-in for django-rest-knox, which Debian does not package: the same
table (knox_authtoken) under the same app label and model name, so dumps and
the database hold knox.authtoken rows as a project with knox would. The
tokens are made by knox's own formulas (see models.py); knox's views and
authentication class are not here."""
