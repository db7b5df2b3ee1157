"""Print the SHA-256 hash of an API key for ``HUASHU_API_KEYS``: ``python -m app.keys KEY``."""

import sys

from app.auth import hash_key

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m app.keys KEY")
    print(hash_key(sys.argv[1]))
