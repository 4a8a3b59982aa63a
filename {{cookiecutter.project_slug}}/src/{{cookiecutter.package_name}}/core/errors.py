"""The one error type for user mistakes: the CLI prints it as one line, without a traceback."""


class UserError(Exception):
    """A problem the user can fix: bad config, missing or malformed data, a bad model URI."""
