#!/usr/bin/python3
"""Write tests/data/protocol/session_sign.json: signatures that
jupyter_client's Session.sign computes over given header, parent, metadata
and content texts, for check_sign to compare pm_msg_sign against.

Run with Debian's interpreter: /usr/bin/python3 tests/gen_sign_vectors.py
"""
import json
import pathlib

import jupyter_client
from jupyter_client.session import Session

OUT = pathlib.Path(__file__).parent / "data" / "protocol" / "session_sign.json"

HEADER = ('{"msg_id":"0b4f0a3c-6f1e-4d2a-9a55-2f1c8a3e7d10",'
          '"msg_type":"display_data","username":"peakmem",'
          '"session":"5f0e7c2e-2d7a-4b8e-9c1d-3e4f5a6b7c8d",'
          '"date":"2024-05-01T12:34:56.789012Z","version":"5.3"}')
PARENT = ('{"msg_id":"a1","msg_type":"execute_request","username":"u",'
          '"session":"s","date":"2024-05-01T12:34:50.000001Z",'
          '"version":"5.3"}')
CONTENT = ('{"data":{"text/plain":"peak memory: 51.20 MiB, increment: '
           '0.25 MiB"},"metadata":{},"transient":{}}')

CASES = [
    # A key as Jupyter writes it into connection files (a uuid4 string).
    ("3c6b0e1d-9f0a-4f6e-8a2b-7d5c4e3f2a1b", HEADER, PARENT, "{}", CONTENT),
    # No parent, empty content.
    ("secret", HEADER, "{}", "{}", "{}"),
    # Non-ASCII text in UTF-8 (statement with a Greek letter and an emoji).
    ("k\u00e9y", HEADER, PARENT, '{"note":"\u03bb x"}',
     '{"text":"a = [\u00e9] * 10 \U0001F600"}'),
    # A key longer than the SHA-256 block (64 bytes) is hashed first.
    ("k" * 100, HEADER, PARENT, "{}", CONTENT),
]


def main():
    vectors = []
    for key, header, parent, metadata, content in CASES:
        session = Session(key=key.encode("utf-8"),
                          signature_scheme="hmac-sha256")
        parts = [p.encode("utf-8") for p in (header, parent, metadata,
                                             content)]
        vectors.append({
            "key": key,
            "header": header,
            "parent": parent,
            "metadata": metadata,
            "content": content,
            "signature": session.sign(parts).decode("ascii"),
        })
    doc = {
        "generator": "tests/gen_sign_vectors.py, jupyter_client "
                     + jupyter_client.__version__,
        "vectors": vectors,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")


if __name__ == "__main__":
    main()
