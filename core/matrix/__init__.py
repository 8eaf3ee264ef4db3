"""Everything that speaks Matrix through nio; the rest of the framework never imports nio."""

from core.matrix.connection import ConnectionError_, Credentials, MatrixConnection, SendError

__all__ = ["ConnectionError_", "Credentials", "MatrixConnection", "SendError"]
