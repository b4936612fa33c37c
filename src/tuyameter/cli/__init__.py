"""The ``tuyameter`` command line."""
